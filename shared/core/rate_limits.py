"""How much one business may send per hour (docs/reliability.md, "Tenants"). Pure.

A tenant's posts and snapshots are what the shared learner is fed; these limits bound how
fast one business can feed it, whatever its token allows. The learner bounds the share
of its evidence one business holds (shared/core/bandit.py, ``business_share``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

WINDOW: Final = timedelta(hours=1)


@dataclass(frozen=True)
class RateLimits:
    """Per business and hour; 0 turns a limit off."""

    # A week of drafts for four platforms, three variants each, fits in one hour (84).
    posts_per_hour: int = 120
    # A poller that reads each post at the reward's slots (6, 24, 48, 72, 168 h) sends 5 per
    # post: this is 400 posts' worth of every slot in one hour.
    snapshots_per_hour: int = 2_000

    def __post_init__(self) -> None:
        if self.posts_per_hour < 0 or self.snapshots_per_hour < 0:
            raise ValueError("rate limits must be >= 0 (0: no limit)")


NO_LIMITS: Final = RateLimits(posts_per_hour=0, snapshots_per_hour=0)


def window_start(now: datetime) -> datetime:
    """The hour ``now`` falls in (the windows are fixed hours, UTC)."""
    return now.replace(minute=0, second=0, microsecond=0)


def retry_after(now: datetime) -> int:
    """Seconds until the next window opens (at least 1)."""
    return max(1, int((window_start(now) + WINDOW - now).total_seconds()))
