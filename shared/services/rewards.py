"""compute_reward: settle a post's reward once it is due, fold it into the baseline."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.errors import NotFound
from shared.faults import fault_point
from shared.policy import fold_baseline
from shared.reward import RewardConfig, compute_reward, is_complete
from shared.store import outbox
from shared.store import policy as policy_store
from shared.store import posts as post_store
from shared.store import profiles as profile_store
from shared.store import rewards as reward_store
from shared.store import snapshots as snapshot_store
from shared.store.db import Conn, Database
from shared.tasks.model import Task, update_task

Outcome = Literal["computed", "missing", "waiting", "not_due", "final"]


@dataclass(frozen=True)
class Settlement:
    post_id: UUID
    outcome: Outcome  # "final": it was settled before this call
    value: float | None
    tasks: tuple[Task, ...] = ()


@dataclass(frozen=True)
class SweepReport:
    examined: int
    computed: int
    missing: int
    waiting: int
    tasks: tuple[Task, ...]


def settle(conn: Conn, post_id: UUID, now: datetime, config: RewardConfig, beta: float) -> Settlement:
    """Compute the reward of ``post_id`` if it is due and complete (or past its wait).

    Runs inside the caller's transaction and locks the reward row first, so a
    task, a snapshot webhook and a sweep settling the same post serialise and
    exactly one of them folds the reward into the baseline.
    """
    reward = reward_store.get_reward(conn, post_id, for_update=True)
    if reward is None:
        raise NotFound("no reward for this post (is it published?)", field="post_id")
    if reward.status != "pending":
        return Settlement(post_id, "final", reward.value)
    if now < reward.eligible_at:
        return Settlement(post_id, "not_due", None)
    post = post_store.get_post(conn, post_id)
    profile = profile_store.get_profile(conn, post.business_id) if post else None
    assert post is not None and post.posted_at is not None and profile is not None
    snaps = snapshot_store.list_snapshots(conn, post_id)
    # A deleted post gets no further snapshots: once due, it is as complete as it will be.
    complete = post.deleted_at is not None or is_complete(snaps, post.posted_at, config)
    if not complete and now < reward.finalize_by:
        return Settlement(post_id, "waiting", None)

    result = compute_reward(
        post.platform,
        snaps,
        post.posted_at,
        post.deleted_at,
        profile.follower_counts.get(post.platform),
        config,
    )
    status: Literal["computed", "missing"] = "computed" if result is not None else "missing"
    value = result.value if result is not None else config.default_reward
    components = None if result is None else asdict(result)
    before = after = None
    tasks: tuple[Task, ...] = ()
    if value is not None:
        before = policy_store.lock_baseline(conn, post.platform)
        after = fold_baseline(before, value, beta)
        policy_store.store_baseline(conn, post.platform, after)
        fault_point("settle.after_baseline")
        tasks = (update_task(post_id, now),)
        for task in tasks:
            outbox.add_task(conn, task, now)
    reward_store.finalise(
        conn,
        post_id,
        status=status,
        value=value,
        components=components,
        baseline_before=before,
        baseline_after=after,
        definition_version=config.version,
        now=now,
    )
    fault_point("settle.after_finalise")
    return Settlement(post_id, status, value, tasks)


def compute_one(db: Database, post_id: UUID, now: datetime, config: RewardConfig, beta: float) -> Settlement:
    with db.transaction() as conn:
        settled = settle(conn, post_id, now, config, beta)
    fault_point("compute_reward.after_commit")
    return settled


def sweep(
    db: Database, now: datetime, config: RewardConfig, beta: float, *, batch: int = 200, limit: int = 10_000
) -> SweepReport:
    """Settle due rewards in bounded batches, one transaction per batch.

    Rows locked by a concurrent sweep are skipped, so overlapping sweeps
    never settle the same reward twice and never wait on each other.
    """
    counts = {"computed": 0, "missing": 0, "waiting": 0}
    tasks: list[Task] = []
    examined = 0
    after: UUID | None = None
    while examined < limit:
        with db.transaction() as conn:
            ids = reward_store.claim_due(conn, now, after, min(batch, limit - examined))
            for post_id in ids:
                s = settle(conn, post_id, now, config, beta)
                fault_point("sweep.after_settle")
                if s.outcome in counts:
                    counts[s.outcome] += 1
                tasks.extend(s.tasks)
        if not ids:
            break
        examined += len(ids)
        after = ids[-1]
    return SweepReport(examined, counts["computed"], counts["missing"], counts["waiting"], tuple(tasks))
