"""What the dashboard shows, as the store reads it (pure types: the view and the page
import them without loading the database driver)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shared.core.context import FloatArray
from shared.core.preferences import PolicyReading

WEEKLY_AFTER_DAYS = 42  # longer spans are drawn per week, so the lines stay readable


@dataclass(frozen=True)
class RewardDay:
    platform: str
    time_bucket: str
    day: date  # UTC day the posts were scheduled for
    posts: int  # with a final reward value
    mean_reward: float
    baseline: float  # the platform's baseline after the latest reward of that day's posts (per platform, not bucket)


@dataclass(frozen=True)
class ExplorationDay:
    platform: str
    time_bucket: str
    day: date  # UTC day the posts were scheduled for
    choices: int  # dimension choices made that day (decisions × dimensions)
    explored: int  # choices of a value other than the policy's most likely one


@dataclass(frozen=True)
class LatestPost:
    post_id: str
    business: str
    platform: str
    time_bucket: str
    scheduled_for: datetime
    status: str
    action: dict[str, str]
    joint_propensity: float
    policy_version: int
    mode: str
    caption_prompt: str
    image_prompt: str
    caption: str | None
    image_url: str | None
    content_source: str | None
    content_status: str
    reward_status: str | None
    reward: float | None
    holdback: bool = False  # the fixed baseline action (docs/lifecycle.md)
    time_zone: str = "UTC"  # the business's: the page shows scheduled_for in it


@dataclass(frozen=True)
class WhatWorksRow:
    """One finding in words' parts: on ``platform``, ``value`` of ``dimension`` earned ``lift``
    over the platform's average (95% interval), from ``posts`` of ``platform_posts``."""

    platform: str
    dimension: str  # its label, e.g. "Hook type"
    value: str  # its label, e.g. "a question"
    posts: int
    platform_posts: int
    lift: float
    low: float
    high: float
    sure: bool  # the interval stays on one side of 0
    dimension_name: str = ""  # as the action space names it, e.g. "HOOK_TYPE"
    value_name: str = ""  # e.g. "question"


@dataclass(frozen=True)
class BestTimeRow:
    """When one business should post on one platform (docs/best-time.md)."""

    business: str
    platform: str
    time_zone: str
    slot: str  # e.g. "evening (17–21)" or "evening (17–21), Fridays"
    expected: float
    low: float
    high: float
    posts: int  # the business's own posts behind the estimate
    next_time: datetime  # local, in time_zone


INTERACTIONS = ("likes", "comments", "shares", "saves", "replies", "reposts", "reactions")


@dataclass(frozen=True)
class EngagementDay:
    """The latest counters of the posts scheduled on one UTC day on one platform, summed."""

    platform: str
    day: date
    posts: int  # with at least one snapshot
    counters: dict[str, int]  # INTERACTIONS and "impressions"

    @property
    def interactions(self) -> int:
        return sum(self.counters.get(k, 0) for k in INTERACTIONS)


@dataclass(frozen=True)
class FollowerRow:
    business: str
    platform: str
    followers: int  # the latest count reported
    day: date  # of that report (UTC)
    earlier: int  # the first count reported in the window
    earlier_day: date


@dataclass(frozen=True)
class StandoutPost:
    """One of the best (``best``) or worst rewarded posts of the page's scope."""

    best: bool
    reward: float
    business: str
    platform: str
    scheduled_for: datetime
    time_zone: str
    action: dict[str, str]
    caption: str | None
    holdback: bool


@dataclass(frozen=True)
class BusinessLink:
    business_id: str
    name: str


@dataclass(frozen=True)
class DashboardData:
    policy: PolicyReading  # the one business's terms in it on a business's page
    mean_x: dict[tuple[str, str], FloatArray]  # (platform, bucket) → mean x of recent decisions, shape (768,)
    decisions: dict[tuple[str, str], int]  # (platform, bucket) → count
    rewards: tuple[RewardDay, ...]
    exploration: tuple[ExplorationDay, ...]
    latest: tuple[LatestPost, ...]
    totals: dict[str, int]
    # Rows already summed per week (their day is the Monday), as the store does for long spans;
    # None: the view decides from the rows' days.
    weekly: bool | None = None
    business: str | None = None  # the one business shown (its id); None: every business in scope
    engagement: tuple[EngagementDay, ...] = ()
    followers: tuple[FollowerRow, ...] = ()
    standouts: tuple[StandoutPost, ...] = ()
    businesses: tuple[BusinessLink, ...] = ()  # the page's business selector
