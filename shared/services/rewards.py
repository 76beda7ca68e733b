"""compute_reward: settle a post's reward once it is due, fold it into the baseline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.core.policy import PolicyParams, fold_baseline
from shared.core.reward import RewardConfig, RewardResult, Snapshot, is_complete, reward_from_snapshots
from shared.core.tasks import Task, update_task
from shared.errors import NotFound
from shared.faults import fault_point
from shared.store import outbox
from shared.store import policy as policy_store
from shared.store import rewards as reward_store
from shared.store import snapshots as snapshot_store
from shared.store.db import Conn, Database

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


def _decide(
    row: reward_store.SettlementInput, snaps: list[Snapshot], now: datetime, config: RewardConfig
) -> tuple[Outcome, RewardResult | None]:
    """What settling one reward means now (pure)."""
    if row.status != "pending":
        return "final", None
    if now < row.eligible_at:
        return "not_due", None
    # A deleted post gets no further snapshots: once due, it is as complete as it will be.
    complete = row.deleted_at is not None or is_complete(snaps, row.posted_at, config)
    if not complete and now < row.finalize_by:
        return "waiting", None
    result = reward_from_snapshots(row.platform, snaps, row.posted_at, row.deleted_at, row.profile_followers, config)
    return ("computed" if result is not None else "missing"), result


def settle_many(
    conn: Conn, post_ids: list[UUID], now: datetime, config: RewardConfig, params: PolicyParams
) -> list[Settlement]:
    """Settle the rewards of ``post_ids`` that are due and complete (or past their wait).

    Runs inside the caller's transaction. Reward rows are locked first, in
    post_id order, so a task, a snapshot webhook and a sweep settling the same
    post serialise and exactly one of them folds the reward into the
    baseline; the rewards of a batch fold in post_id order. A handful of
    statements serve a whole batch, whatever its size.
    """
    rows = reward_store.lock_for_settlement(conn, post_ids)
    due = [r.post_id for r in rows if r.status == "pending" and now >= r.eligible_at]
    snaps = snapshot_store.snapshots_of(conn, due) if due else {}
    decided = [(r, *_decide(r, snaps.get(r.post_id, []), now, config)) for r in rows]
    folding = [
        (r, result.value if result is not None else config.default_reward)
        for r, outcome, result in decided
        if outcome in ("computed", "missing")
    ]
    valued = [(r, v) for r, v in folding if v is not None]
    baselines = policy_store.lock_baselines(conn, [r.platform for r, _ in valued]) if valued else {}
    folded = dict.fromkeys(baselines, 0)
    before_after: dict[UUID, tuple[float, float]] = {}
    for r, value in valued:
        old = baselines[r.platform]
        baselines[r.platform] = fold_baseline(old, value, params.beta)
        folded[r.platform] += 1
        before_after[r.post_id] = (old, baselines[r.platform])
    tasks = {r.post_id: update_task(r.post_id, now) for r, _ in valued}
    writes = []
    out = []
    for r, outcome, result in decided:
        if outcome not in ("computed", "missing"):
            out.append(Settlement(r.post_id, outcome, r.value if outcome == "final" else None))
            continue
        final_value = result.value if result is not None else config.default_reward
        fold = before_after.get(r.post_id)
        before = fold[0] if fold else None
        after = fold[1] if fold else None
        components = None if result is None else result.components()
        writes.append((r.post_id, outcome, final_value, components, before, after))
        task = tasks.get(r.post_id)
        out.append(Settlement(r.post_id, outcome, final_value, (task,) if task else ()))
    if writes:
        reward_store.finalise_many(conn, writes, config.version, now)
        fault_point("settle.after_rewards")
    if valued:
        policy_store.store_baselines(conn, baselines, folded)
        fault_point("settle.after_baseline")
        outbox.add_tasks(conn, list(tasks.values()), now)
    if writes:
        fault_point("settle.after_finalise")
    return out


def settle(conn: Conn, post_id: UUID, now: datetime, config: RewardConfig, params: PolicyParams) -> Settlement:
    """Settle one post's reward (see ``settle_many``)."""
    settled = settle_many(conn, [post_id], now, config, params)
    if not settled:
        raise NotFound("no reward for this post (is it published?)", field="post_id")
    return settled[0]


def compute_one(db: Database, post_id: UUID, now: datetime, config: RewardConfig, params: PolicyParams) -> Settlement:
    with db.transaction() as conn:
        settled = settle(conn, post_id, now, config, params)
    fault_point("compute_reward.after_commit")
    return settled


def sweep(
    db: Database,
    now: datetime,
    config: RewardConfig,
    params: PolicyParams,
    dispatch: Callable[[Sequence[Task]], None],
    *,
    batch: int = 200,
    limit: int = 10_000,
) -> SweepReport:
    """Settle due rewards in bounded batches, one transaction per batch.

    Each batch's update tasks are handed to ``dispatch`` once the batch has
    committed, so memory stays bounded by the batch, whatever the backlog.
    Rows locked by a concurrent sweep are skipped, so overlapping sweeps
    never settle the same reward twice and never wait on each other.
    """
    counts = {"computed": 0, "missing": 0, "waiting": 0}
    examined = 0
    after: tuple[datetime, UUID] | None = None
    while examined < limit:
        tasks: list[Task] = []
        with db.transaction() as conn:
            keys = reward_store.claim_due(conn, now, after, min(batch, limit - examined))
            for s in settle_many(conn, [k[1] for k in keys], now, config, params) if keys else []:
                fault_point("sweep.after_settle")
                if s.outcome in counts:
                    counts[s.outcome] += 1
                tasks.extend(s.tasks)
        if not keys:
            break
        dispatch(tasks)
        examined += len(keys)
        after = keys[-1]
    return SweepReport(examined, counts["computed"], counts["missing"], counts["waiting"])
