"""Lift of the policy over the holdback arm (pure): per-arm means with confidence
intervals from summary statistics, and the difference with a Welch interval."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Two-sided 95% normal quantile.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class ArmSummary:
    """Rewards of one arm: count, mean and unbiased variance (0 when n < 2)."""

    n: int
    mean: float
    variance: float

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError(f"n must be >= 0, got {self.n}")
        if not (math.isfinite(self.mean) and math.isfinite(self.variance)) or self.variance < 0:
            raise ValueError("mean and variance must be finite, variance >= 0")

    @classmethod
    def of_sums(cls, n: int, total: float, total_sq: float) -> ArmSummary:
        """From the count, sum and sum of squares (rounding can make a variance of equal
        values a hair below 0: it is 0)."""
        if n == 0:
            return cls(0, 0.0, 0.0)
        mean = total / n
        variance = max(0.0, (total_sq - n * mean * mean) / (n - 1)) if n > 1 else 0.0
        return cls(n, mean, variance)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float | None  # None: too few rewards for an interval (n < 2 on a side)
    high: float | None


def mean_interval(arm: ArmSummary, z: float = Z95) -> Interval | None:
    """mean ± z · s / √n; None without rewards, no bounds with fewer than two."""
    if arm.n == 0:
        return None
    if arm.n < 2:
        return Interval(arm.mean, None, None)
    half = z * math.sqrt(arm.variance / arm.n)
    return Interval(arm.mean, arm.mean - half, arm.mean + half)


def lift_interval(policy: ArmSummary, holdback: ArmSummary, z: float = Z95) -> Interval | None:
    """mean(policy) − mean(holdback) ± z · √(s²_p / n_p + s²_h / n_h) (Welch, normal quantile)."""
    if policy.n == 0 or holdback.n == 0:
        return None
    diff = policy.mean - holdback.mean
    if policy.n < 2 or holdback.n < 2:
        return Interval(diff, None, None)
    half = z * math.sqrt(policy.variance / policy.n + holdback.variance / holdback.n)
    return Interval(diff, diff - half, diff + half)


@dataclass(frozen=True)
class LiftRow:
    platform: str  # a platform, or "all"
    policy: ArmSummary
    holdback: ArmSummary
    policy_mean: Interval | None
    holdback_mean: Interval | None
    lift: Interval | None  # policy − holdback


_NONE = ArmSummary(0, 0.0, 0.0)


def lift_rows(arms: Mapping[tuple[str, bool], ArmSummary], platforms: Sequence[str]) -> list[LiftRow]:
    """From (platform or "all", holdback) → summary: "all" first, then each platform with rewards."""
    rows = []
    for platform in ("all", *platforms):
        policy = arms.get((platform, False), _NONE)
        holdback = arms.get((platform, True), _NONE)
        if platform != "all" and policy.n == 0 and holdback.n == 0:
            continue
        rows.append(
            LiftRow(
                platform=platform,
                policy=policy,
                holdback=holdback,
                policy_mean=mean_interval(policy),
                holdback_mean=mean_interval(holdback),
                lift=lift_interval(policy, holdback),
            )
        )
    return rows
