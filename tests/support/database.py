"""The test database's state: the fixed start time, the tables a test empties, and the
counts that say "nothing changed"."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.bootstrap import Runtime
from shared.errors import TransientError

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC

_TABLES = (
    "policy_updates, outbox, snapshots, rewards, decisions, posts, profiles, policy_preferences, policy_theta,"
    " dead_letters, policy_lifecycle, policy_snapshot_preferences, policy_snapshot_theta,"
    " policy_snapshot_baselines, policy_snapshot_arrays, policy_snapshots, context_normalisers, learner_arrays,"
    " learner_statistics, business_rates, activity_days, business_activity_days, activity_weeks,"
    " business_activity_weeks, evaluations,"
    " typical_contexts, slot_rewards, business_slot_rewards, value_rewards,"
    " engagement_days, platform_engagement_days, follower_days, standout_posts"
)


def reset_state(rt: Runtime) -> None:
    # A test that terminates backends leaves dead connections in the pool; the first
    # use of each answers TransientError and the pool drops it, so try again.
    for _ in range(rt.settings.db_pool_max + 1):
        try:
            with rt.db.transaction() as conn:
                conn.execute(f"truncate {_TABLES}")
                conn.execute("update policy_state set version = 0, steps = 0, statistics_version = 0")
                conn.execute("update policy_baselines set b = 0, n = 0")
            return
        except TransientError:
            continue
    raise RuntimeError("the test database stays unreachable")


def table_counts(rt: Runtime) -> dict[str, int]:
    """Row counts of every table plus the policy version: 'nothing changed' is equality."""
    with rt.db.transaction() as conn:
        counts = {
            t: int(conn.execute(f"select count(*) from {t}").fetchone()[0])  # type: ignore[index]
            for t in _TABLES.split(", ")
        }
        counts["version"] = int(conn.execute("select version from policy_state").fetchone()[0])  # type: ignore[index]
        counts["baseline_n"] = int(conn.execute("select sum(n) from policy_baselines").fetchone()[0])  # type: ignore[index]
    return counts
