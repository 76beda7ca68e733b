"""When to post: the expected reward of each posting slot for one business and platform,
with its uncertainty, and the next time of the best one (docs/best-time.md). Pure.

A slot is a local time bucket, and a bucket on a weekday where the business's own posts
support it. Each estimate shrinks the business's own mean reward in the slot toward a prior:
what every business earned in that slot (the shared statistics the sweep keeps), moved by how
much this business earns above or below everyone on this platform. With n own posts in the
slot and a prior worth k posts, the estimate is (n·ȳ + k·m) / (n + k) with variance
σ² / (n + k), σ² the rewards' pooled variance within slots. A weekday estimate takes its
bucket's estimate as its prior. Few posts give the prior; many give the business's own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.core.context import TIME_BUCKETS

# How many posts the prior is worth (tuned on the best-time worlds' tuning seeds, docs/best-time.md).
PRIOR_POSTS = 8.0
# A weekday of a bucket is estimated on its own from this many of the business's posts in it.
WEEKDAY_POSTS = 6
# The rewards' spread before any is known (rewards lie in [−1, 1]; the simulated ones spread ~0.25).
DEFAULT_VARIANCE = 0.0625
# The local hour a slot's posts go out at: inside each bucket (shared/core/context.py time_bucket_of).
SLOT_HOURS = {"morning": 9, "afternoon": 13, "evening": 18, "night": 22}
# A recommended time is at least this far ahead, so a draft can still be reviewed.
LEAD = timedelta(minutes=30)
Z95 = 1.959963984540054


@dataclass(frozen=True)
class SlotStat:
    """Rewards of posts made in one slot: count, sum and sum of squares."""

    time_bucket: str
    day_of_week: int  # 0 Monday … 6 Sunday, local
    posts: int
    total: float
    squares: float


@dataclass(frozen=True)
class SlotEstimate:
    time_bucket: str
    day_of_week: int | None  # None: any day of the week
    expected: float  # the expected reward of a post in this slot
    low: float  # 95% interval
    high: float
    posts: int  # the business's own posts behind it


@dataclass(frozen=True)
class _Sums:
    posts: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, s: SlotStat) -> _Sums:
        return _Sums(self.posts + s.posts, self.total + s.total, self.squares + s.squares)

    @property
    def mean(self) -> float:
        return self.total / self.posts if self.posts else 0.0


def _sum(stats: Sequence[SlotStat], bucket: str | None = None, day: int | None = None) -> _Sums:
    out = _Sums()
    for s in stats:
        if (bucket is None or s.time_bucket == bucket) and (day is None or s.day_of_week == day):
            out = out.add(s)
    return out


def pooled_variance(stats: Sequence[SlotStat]) -> float:
    """The rewards' variance within slots (between-slot differences taken out)."""
    within, dof = 0.0, 0
    for s in stats:
        if s.posts > 1:
            within += max(s.squares - s.total * s.total / s.posts, 0.0)
            dof += s.posts - 1
    return within / dof if dof >= 10 else DEFAULT_VARIANCE


def slot_estimates(
    own: Sequence[SlotStat], shared: Sequence[SlotStat], prior_posts: float = PRIOR_POSTS
) -> list[SlotEstimate]:
    """Every bucket's estimate, then each weekday of a bucket with ``WEEKDAY_POSTS`` own posts."""
    if prior_posts <= 0:
        raise ValueError("prior_posts must be > 0")
    variance = pooled_variance([*own, *shared])
    everyone, mine = _sum(shared), _sum(own)
    # How far this business sits from everyone, in the slots it posted in (each slot's shared
    # mean weighted by the business's own posts there), shrunk like any other mean.
    expected_there = sum(_sum(shared, s.time_bucket, s.day_of_week).mean * s.posts for s in own)
    offset = (mine.total - expected_there) / (mine.posts + prior_posts) if mine.posts else 0.0
    out = []
    buckets: dict[str, SlotEstimate] = {}
    for bucket in TIME_BUCKETS:
        shared_here = _sum(shared, bucket)
        prior = (shared_here.mean if shared_here.posts else everyone.mean) + offset
        buckets[bucket] = _estimate(bucket, None, _sum(own, bucket), prior, prior_posts, variance)
        out.append(buckets[bucket])
    for bucket in TIME_BUCKETS:
        for day in range(7):
            here = _sum(own, bucket, day)
            if here.posts >= WEEKDAY_POSTS:
                out.append(_estimate(bucket, day, here, buckets[bucket].expected, prior_posts, variance))
    return out


def _estimate(bucket: str, day: int | None, own: _Sums, prior: float, k: float, variance: float) -> SlotEstimate:
    expected = (own.total + k * prior) / (own.posts + k)
    half = Z95 * math.sqrt(variance / (own.posts + k))
    return SlotEstimate(bucket, day, expected, expected - half, expected + half, own.posts)


BUCKET_HOURS = {"morning": "5–12 h", "afternoon": "12–17 h", "evening": "17–21 h", "night": "21–5 h"}
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def slot_label(slot: SlotEstimate) -> str:
    """The slot in words: "evening (17–21 h)", "evening (17–21 h), Fridays"."""
    label = f"{slot.time_bucket} ({BUCKET_HOURS[slot.time_bucket]})"
    return label if slot.day_of_week is None else f"{label}, {WEEKDAYS[slot.day_of_week]}"


def best_slot(estimates: Sequence[SlotEstimate]) -> SlotEstimate:
    """The slot with the highest expected reward (a bucket's weekday wins only on its own merit)."""
    if not estimates:
        raise ValueError("no estimates")
    return max(estimates, key=lambda e: (e.expected, e.day_of_week is None))


def next_time(slot: SlotEstimate, now: datetime, time_zone: str) -> datetime:
    """The first time at least ``LEAD`` after ``now`` at the slot's local hour (on its weekday
    when it has one), as an aware datetime in ``time_zone``."""
    zone = ZoneInfo(time_zone)
    earliest = (now + LEAD).astimezone(zone)
    for days in range(0, 9):
        day = (earliest + timedelta(days=days)).date()
        candidate = datetime(day.year, day.month, day.day, SLOT_HOURS[slot.time_bucket], tzinfo=zone)
        if candidate >= earliest and (slot.day_of_week is None or candidate.weekday() == slot.day_of_week):
            return candidate
    raise AssertionError("a weekday recurs within a week")  # pragma: no cover
