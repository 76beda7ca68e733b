"""Reward math (docs/spec.md §5): platform engagement, slot weights, normalisation by
followers, deletion penalty. Pure: numpy and stdlib only.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import numpy as np

from shared.core.context import PLATFORMS, FloatArray

COUNTERS = ("likes", "comments", "shares", "saves", "replies", "reposts", "reactions")

_DEFAULT_ENGAGEMENT: dict[str, dict[str, float]] = {
    "instagram": {"saves": 3.0, "shares": 2.0, "comments": 1.0, "likes": 0.3},
    "x": {"replies": 3.0, "reposts": 2.0, "likes": 1.0},
    "linkedin": {"comments": 3.0, "shares": 2.0, "likes": 1.0},
    "facebook": {"comments": 3.0, "shares": 2.0, "reactions": 1.0},
}
# A geometric decay of 0.65 per slot, normalised over the five slots.
_DEFAULT_SLOTS: dict[int, float] = {6: 0.396, 24: 0.258, 48: 0.168, 72: 0.109, 168: 0.071}


@dataclass(frozen=True)
class RewardConfig:
    engagement_weights: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: {p: dict(w) for p, w in _DEFAULT_ENGAGEMENT.items()}
    )
    slot_weights: Mapping[int, float] = field(default_factory=lambda: dict(_DEFAULT_SLOTS))
    window_hours: int = 24
    max_wait_hours: float = 48.0
    deletion_penalty: float = 0.7
    deletion_decay_days: float = 3.0
    default_reward: float | None = None
    # A reported follower count further than this factor from the profile's is taken as
    # the bound it passed (and flagged): F scales every reward, and a report of 0 followers
    # would turn any engagement into 1.0 (docs/reliability.md, "Tenants").
    follower_range: float = 4.0

    def __post_init__(self) -> None:
        if set(self.engagement_weights) != set(PLATFORMS):
            raise ValueError("engagement_weights needs exactly one entry per platform")
        for platform, weights in self.engagement_weights.items():
            for counter, w in weights.items():
                if counter not in COUNTERS:
                    raise ValueError(f"{platform}: unknown counter {counter!r}")
                if not (math.isfinite(w) and w >= 0):
                    raise ValueError(f"{platform}.{counter}: weight must be finite and >= 0")
        if not self.slot_weights or any(not (math.isfinite(w) and w > 0) for w in self.slot_weights.values()):
            raise ValueError("slot weights must be finite and > 0")
        if not self.window_slots:
            raise ValueError("window_hours must cover at least one slot")
        if not (math.isfinite(self.max_wait_hours) and self.max_wait_hours >= self.window_hours):
            raise ValueError("max_wait_hours must be >= window_hours")
        if not (math.isfinite(self.deletion_penalty) and self.deletion_penalty >= 0):
            raise ValueError("deletion_penalty must be finite and >= 0")
        if not (math.isfinite(self.deletion_decay_days) and self.deletion_decay_days > 0):
            raise ValueError("deletion_decay_days must be > 0")
        if not (math.isfinite(self.follower_range) and self.follower_range >= 1):
            raise ValueError("follower_range must be finite and >= 1")
        if self.default_reward is not None and not -1.0 <= self.default_reward <= 1.0:
            raise ValueError("default_reward must be in [-1, 1]")

    @property
    def slots(self) -> tuple[int, ...]:
        return tuple(sorted(self.slot_weights))

    @property
    def window_slots(self) -> tuple[int, ...]:
        return tuple(s for s in self.slots if s <= self.window_hours)

    @cached_property
    def version(self) -> str:
        """A short hash of every constant: a changed definition is a new version."""
        data: dict[str, Any] = asdict(self)
        data["slot_weights"] = {str(k): v for k, v in sorted(self.slot_weights.items())}
        blob = json.dumps(data, sort_keys=True).encode()
        return "r1-" + hashlib.sha256(blob).hexdigest()[:12]


@dataclass(frozen=True)
class Snapshot:
    """Cumulative counters of a published post at ``observed_at``."""

    observed_at: datetime
    counters: Mapping[str, int]
    follower_count: int | None = None
    timeslot_hours: int | None = None


@dataclass(frozen=True)
class RewardResult:
    value: float
    engagement: float  # R
    followers: int  # F
    r_eng: float
    penalty: float
    slots_used: tuple[int, ...]
    followers_reported: int | None = None  # set when the reported count was out of range and capped

    def components(self) -> dict[str, Any]:
        """What the reward row stores (by hand: ``dataclasses.asdict`` costs ~60 µs a reward in a sweep)."""
        return {
            "value": self.value,
            "engagement": self.engagement,
            "followers": self.followers,
            "r_eng": self.r_eng,
            "penalty": self.penalty,
            "slots_used": list(self.slots_used),
            "followers_reported": self.followers_reported,
        }


def engagement(platform: str, counters: Mapping[str, int], config: RewardConfig) -> float:
    """E for one snapshot: the platform's weighted sum of counters (absent = 0)."""
    weights = config.engagement_weights[platform]
    return float(sum(w * counters.get(name, 0) for name, w in weights.items()))


def slot_of(snapshot: Snapshot, posted_at: datetime, config: RewardConfig) -> int | None:
    """The given slot, or the largest slot ≤ the hours since posting (None before the first)."""
    if snapshot.timeslot_hours is not None:
        return snapshot.timeslot_hours
    hours = (snapshot.observed_at - posted_at) / timedelta(hours=1)
    eligible = [s for s in config.slots if s <= hours]
    return eligible[-1] if eligible else None


def window_snapshots(snapshots: Sequence[Snapshot], posted_at: datetime, config: RewardConfig) -> dict[int, Snapshot]:
    """The snapshot standing for each slot of the window.

    Several observations can fall in one slot (e.g. at 24 h and at 30 h);
    the earliest stands for it, being closest to the slot's nominal time.
    """
    chosen: dict[int, Snapshot] = {}
    window = set(config.window_slots)
    for snap in sorted(snapshots, key=lambda s: s.observed_at):
        slot = slot_of(snap, posted_at, config)
        if slot in window and slot not in chosen:
            chosen[slot] = snap
    return chosen


def is_complete(snapshots: Sequence[Snapshot], posted_at: datetime, config: RewardConfig) -> bool:
    """True once the last slot of the window has a snapshot."""
    return config.window_slots[-1] in window_snapshots(snapshots, posted_at, config)


def normalised_engagement(r: FloatArray | float, followers: FloatArray | float) -> FloatArray:
    """r_eng = tanh(ln(1 + R) / ln(1 + max(F, 1))); vectorised for the simulator."""
    r_arr = np.asarray(r, dtype=np.float64)
    f_arr = np.maximum(np.asarray(followers, dtype=np.float64), 1.0)
    out: FloatArray = np.tanh(np.log1p(r_arr) / np.log1p(f_arr))
    return out


def deletion_penalty(posted_at: datetime, deleted_at: datetime, config: RewardConfig) -> float:
    """0.7 · exp(−d / 3), d = days from posting to deletion (clamped at 0)."""
    days = max((deleted_at - posted_at) / timedelta(days=1), 0.0)
    return config.deletion_penalty * math.exp(-days / config.deletion_decay_days)


def reward_from_snapshots(
    platform: str,
    snapshots: Sequence[Snapshot],
    posted_at: datetime,
    deleted_at: datetime | None,
    profile_followers: int | None,
    config: RewardConfig,
) -> RewardResult | None:
    """The reward of one post, or None when no snapshot falls in the window.

    R = Σ w_s E_s / Σ w_s over the window's slots that have a snapshot (the
    weights renormalise over the slots present); F = follower count of the
    latest of those snapshots that has one, else the profile's; a reported F
    outside [profile / range, profile × range] is capped to it (``follower_range``,
    the report kept in ``followers_reported``). A post deleted
    before any snapshot was taken counts as R = 0: it still earns its penalty
    (docs/decisions.md).
    """
    chosen = window_snapshots(snapshots, posted_at, config)
    if not chosen and deleted_at is None:
        return None
    slots = tuple(sorted(chosen))
    weights = [config.slot_weights[s] for s in slots]
    values = [engagement(platform, chosen[s].counters, config) for s in slots]
    big_r = sum(w * e for w, e in zip(weights, values, strict=True)) / sum(weights) if slots else 0.0
    followers = profile_followers or 0
    reported: int | None = None
    for s in reversed(slots):
        if chosen[s].follower_count is not None:
            followers = int(chosen[s].follower_count or 0)
            if profile_followers:
                low, high = profile_followers / config.follower_range, profile_followers * config.follower_range
                if not low <= followers <= high:
                    reported, followers = followers, round(min(max(followers, low), high))
            break
    r_eng = float(normalised_engagement(big_r, followers))
    penalty = 0.0
    value = r_eng
    if deleted_at is not None:
        penalty = deletion_penalty(posted_at, deleted_at, config)
        value = max(r_eng - penalty, -1.0)
    return RewardResult(
        value=value,
        engagement=big_r,
        followers=followers,
        r_eng=r_eng,
        penalty=penalty,
        slots_used=slots,
        followers_reported=reported,
    )
