"""What works, in words (the dashboard's first section, docs/dashboard.md). Pure.

For each platform and dimension: the value whose posts earned most against the platform's
average, with how many posts say so and a 95% interval of that difference. Only values with
at least ``MIN_POSTS`` rewarded posts are named; the interval says how sure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_POSTS = 5
Z95 = 1.959963984540054


@dataclass(frozen=True)
class ValueStat:
    platform: str
    dimension: str
    value: str
    posts: int
    total: float
    squares: float


@dataclass(frozen=True)
class Finding:
    platform: str
    dimension: str
    value: str
    posts: int
    lift: float  # the value's mean reward − the platform's mean reward
    low: float  # 95% interval of the lift
    high: float
    platform_posts: int

    @property
    def sure(self) -> bool:
        """The interval stays on one side of 0."""
        return self.low > 0 or self.high < 0


def findings(stats: Sequence[ValueStat]) -> list[Finding]:
    """Per platform and dimension, the best-earning value with enough posts (platforms in the
    order given, dimensions in their first appearance's order)."""
    out = []
    platforms = list(dict.fromkeys(s.platform for s in stats))
    for platform in platforms:
        here = [s for s in stats if s.platform == platform]
        dimensions = list(dict.fromkeys(s.dimension for s in here))
        # Every post has one value per dimension: any dimension's rows sum to the platform's posts.
        first = [s for s in here if s.dimension == dimensions[0]]
        n = sum(s.posts for s in first)
        if n == 0:
            continue
        mean = sum(s.total for s in first) / n
        for dimension in dimensions:
            candidates = [s for s in here if s.dimension == dimension and s.posts >= MIN_POSTS]
            if not candidates:
                continue
            best = max(candidates, key=lambda s: (s.total / s.posts, s.posts))
            m = best.total / best.posts
            variance = max(best.squares / best.posts - m * m, 0.0) * best.posts / max(best.posts - 1, 1)
            half = Z95 * math.sqrt(variance / best.posts)
            out.append(
                Finding(platform, dimension, best.value, best.posts, m - mean, m - mean - half, m - mean + half, n)
            )
    return out
