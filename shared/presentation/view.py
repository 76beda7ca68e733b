"""From what the store read to what the page shows. Pure: numpy and stdlib.

Per platform and time bucket: the policy's current probabilities in each
dimension (at the cell's typical context), reward over time against the
platform baseline, and the exploration share; plus the latest posts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from shared.core.action_space import ActionSpace
from shared.core.context import PLATFORMS, TIME_BUCKETS, FloatArray
from shared.core.off_policy import Estimate
from shared.core.policy import PolicyParams
from shared.core.preferences import probabilities_at
from shared.presentation.data import (
    INTERACTIONS,
    WEEKLY_AFTER_DAYS,
    BusinessLink,
    DashboardData,
    EngagementDay,
    ExplorationDay,
    FollowerRow,
    LatestPost,
    RewardDay,
    StandoutPost,
)

ALL = "all"  # the time-bucket key that aggregates every bucket
BUCKETS = (ALL, *TIME_BUCKETS)


@dataclass(frozen=True)
class Bar:
    value: str
    label: str
    probability: float  # π (with the exploration floor), what the next post is drawn from
    top: bool


@dataclass(frozen=True)
class DimensionView:
    name: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Point:
    period: date
    value: float
    n: int


@dataclass(frozen=True)
class CellView:
    platform: str
    bucket: str  # a time bucket or ALL
    decisions: int
    dimensions: tuple[DimensionView, ...]  # empty for ALL: preferences are per bucket
    reward: tuple[Point, ...]
    baseline: tuple[Point, ...]
    exploration: tuple[Point, ...]


@dataclass(frozen=True)
class EngagementView:
    """One platform's raw engagement: interactions per post over time, and two weeks of posts
    compared (those of 7–13 days ago, whose counts are mostly in, and the week before)."""

    platform: str
    per_post: tuple[Point, ...]  # interactions per post, per day or week the posts were scheduled
    recent_posts: int
    recent: dict[str, int]  # counters summed over the recent week's posts
    previous_posts: int
    previous: dict[str, int]


@dataclass(frozen=True)
class ThenAndNow:
    """The mean reward of the posts of the first and of the last ``days`` days with rewards."""

    days: int
    first_mean: float
    first_posts: int
    last_mean: float
    last_posts: int


# "Better than before" compares this many days at each end (only when they do not overlap).
COMPARED_DAYS = 14


def then_and_now(rewards: Sequence[RewardDay], days: int = COMPARED_DAYS) -> ThenAndNow | None:
    """From the per-day rewards of every platform and bucket (or per-week rows, dated by
    their Monday), weighted by posts; None while the rewarded days span less than twice ``days``."""
    if not rewards:
        return None
    start, end = min(r.day for r in rewards), max(r.day for r in rewards)
    if (end - start).days + 1 < 2 * days:
        return None

    def mean(rows: list[RewardDay]) -> tuple[float, int]:
        n = sum(r.posts for r in rows)
        return sum(r.mean_reward * r.posts for r in rows) / n, n

    first = mean([r for r in rewards if (r.day - start).days < days])
    last = mean([r for r in rewards if (end - r.day).days < days])
    return ThenAndNow(days, first[0], first[1], last[0], last[1])


@dataclass(frozen=True)
class DashboardView:
    version: int
    totals: dict[str, int]
    period: str  # "day" or "week"
    cells: tuple[CellView, ...]
    latest: tuple[LatestPost, ...]
    what_if: tuple[Estimate, ...] | None  # None: no evaluation stored yet (the sweep computes it)
    business: BusinessLink | None = None  # the one business shown; None: every business in scope
    businesses: tuple[BusinessLink, ...] = ()
    engagement: tuple[EngagementView, ...] = ()
    followers: tuple[FollowerRow, ...] = ()
    standouts: tuple[StandoutPost, ...] = ()
    then_and_now: ThenAndNow | None = None

    def cell(self, platform: str, bucket: str) -> CellView:
        return next(c for c in self.cells if c.platform == platform and c.bucket == bucket)


def _period_start(day: date, weekly: bool) -> date:
    return day - timedelta(days=day.weekday()) if weekly else day


def _weighted(points: Iterable[tuple[date, float, int]], weekly: bool) -> tuple[Point, ...]:
    """Means weighted by counts, per day or per week (Monday)."""
    sums: dict[date, float] = defaultdict(float)
    counts: dict[date, int] = defaultdict(int)
    for day, value, n in points:
        key = _period_start(day, weekly)
        sums[key] += value * n
        counts[key] += n
    return tuple(Point(k, sums[k] / counts[k], counts[k]) for k in sorted(sums) if counts[k] > 0)


def _last(points: Iterable[tuple[date, float]], weekly: bool) -> tuple[Point, ...]:
    """The last value of each period (the baseline as it stood at the period's end)."""
    last: dict[date, float] = {}
    for day, value in sorted(points, key=lambda p: p[0]):
        last[_period_start(day, weekly)] = value
    return tuple(Point(k, v, 1) for k, v in sorted(last.items()))


def bars(space: ActionSpace, pis: Sequence[FloatArray]) -> tuple[DimensionView, ...]:
    """One bar per value of each dimension, π_d as given (shapes (n_d,)), the most likely marked."""
    views = []
    for dim, pi in zip(space.dimensions, pis, strict=True):
        best = int(np.argmax(pi))
        row = tuple(
            Bar(v, dim.label(v), float(p), i == best) for i, (v, p) in enumerate(zip(dim.values, pi, strict=True))
        )
        views.append(DimensionView(dim.name, row))
    return tuple(views)


def build_view(
    data: DashboardData,
    space: ActionSpace,
    params: PolicyParams,
    what_if: Sequence[Estimate] | None = None,
    today: date | None = None,
) -> DashboardView:
    days = [r.day for r in data.rewards] + [e.day for e in data.exploration]
    weekly = data.weekly if data.weekly is not None else bool(days) and (max(days) - min(days)).days > WEEKLY_AFTER_DAYS
    # Each row read once: grouped by cell, the "all" bucket being the platform's rows.
    rewards: dict[tuple[str, str], list[RewardDay]] = defaultdict(list)
    explore: dict[tuple[str, str], list[ExplorationDay]] = defaultdict(list)
    for r in data.rewards:
        rewards[(r.platform, r.time_bucket)].append(r)
        rewards[(r.platform, ALL)].append(r)
    for e in data.exploration:
        explore[(e.platform, e.time_bucket)].append(e)
        explore[(e.platform, ALL)].append(e)
    cells = []
    for platform in PLATFORMS:
        baseline = _last(((r.day, r.baseline) for r in rewards[(platform, ALL)]), weekly)
        for bucket in BUCKETS:
            cells.append(
                _cell(
                    data,
                    space,
                    params,
                    platform,
                    bucket,
                    rewards[(platform, bucket)],
                    explore[(platform, bucket)],
                    baseline,
                    weekly,
                )
            )
    shown = next((b for b in data.businesses if b.business_id == data.business), None)
    if data.business is not None and shown is None:
        shown = BusinessLink(data.business, data.business)
    return DashboardView(
        version=data.policy.version,
        totals=dict(data.totals),
        period="week" if weekly else "day",
        cells=tuple(cells),
        latest=data.latest,
        what_if=None if what_if is None else tuple(what_if),
        business=shown,
        businesses=data.businesses,
        engagement=engagement_views(data.engagement, weekly, today),
        followers=data.followers,
        standouts=data.standouts,
        then_and_now=then_and_now(data.rewards),
    )


def _summed(days: Iterable[EngagementDay]) -> tuple[int, dict[str, int]]:
    posts, counters = 0, dict.fromkeys((*INTERACTIONS, "impressions"), 0)
    for d in days:
        posts += d.posts
        for k, v in d.counters.items():
            counters[k] = counters.get(k, 0) + v
    return posts, counters


def engagement_views(days: Sequence[EngagementDay], weekly: bool, today: date | None) -> tuple[EngagementView, ...]:
    """Per platform with engagement, in PLATFORMS' order. ``today`` (UTC) anchors the two
    compared weeks; None: the latest day with engagement."""
    if not days:
        return ()
    end = today or max(d.day for d in days)
    recent = (end - timedelta(days=13), end - timedelta(days=7))
    previous = (end - timedelta(days=20), end - timedelta(days=14))
    out = []
    for platform in PLATFORMS:
        mine = [d for d in days if d.platform == platform]
        if not mine:
            continue
        per_post = _weighted(((d.day, d.interactions / d.posts, d.posts) for d in mine if d.posts > 0), weekly)
        r_posts, r = _summed(d for d in mine if recent[0] <= d.day <= recent[1])
        p_posts, p = _summed(d for d in mine if previous[0] <= d.day <= previous[1])
        out.append(EngagementView(platform, per_post, r_posts, r, p_posts, p))
    return tuple(out)


def _cell(
    data: DashboardData,
    space: ActionSpace,
    params: PolicyParams,
    platform: str,
    bucket: str,
    rewards: list[RewardDay],
    explore: list[ExplorationDay],
    baseline: tuple[Point, ...],
    weekly: bool,
) -> CellView:
    dims: tuple[DimensionView, ...] = ()
    if bucket != ALL:
        # The policy at the cell's typical context, as the next decision draws it: with the
        # business's own terms on one business's page, the shared model's otherwise.
        x = data.mean_x.get((platform, bucket))
        dims = bars(space, probabilities_at(space, params, data.policy, platform, bucket, x, data.business))
    decisions = sum(n for (p, b), n in data.decisions.items() if p == platform and bucket in (ALL, b))
    return CellView(
        platform=platform,
        bucket=bucket,
        decisions=decisions,
        dimensions=dims,
        reward=_weighted(((r.day, r.mean_reward, r.posts) for r in rewards), weekly),
        baseline=baseline,
        exploration=_weighted(((e.day, e.explored / e.choices, e.choices) for e in explore), weekly),
    )
