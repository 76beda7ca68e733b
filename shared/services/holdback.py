"""The holdback report: mean reward of the policy's posts and of the holdback arm's
(the fixed baseline action), with 95% intervals, and the lift between them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.context import PLATFORMS
from shared.lift import ArmSummary, Interval, lift_interval, mean_interval
from shared.store import holdback as store
from shared.store.db import Database

_NONE = ArmSummary(0, 0.0, 0.0)


@dataclass(frozen=True)
class LiftRow:
    platform: str  # a platform, or "all"
    policy: ArmSummary
    holdback: ArmSummary
    policy_mean: Interval | None
    holdback_mean: Interval | None
    lift: Interval | None  # policy − holdback


def holdback_report(db: Database, since: datetime | None = None) -> list[LiftRow]:
    """ "all" first, then each platform with rewards; one read."""
    with db.statement() as conn:
        arms = store.arm_summaries(conn, since)
    rows = []
    for platform in ("all", *PLATFORMS):
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
