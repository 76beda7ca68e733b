"""The scheduled sweep (Cloud Scheduler, every 15 minutes by default): everything a
lost delivery could have left behind, caught up in bounded batches."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from shared.core.action_space import ActionSpace
from shared.core.policy import PolicyParams
from shared.core.reward import RewardConfig
from shared.core.tasks import TaskSink
from shared.services.best_time import refresh_slot_rewards
from shared.services.dashboard import refresh_typical_contexts, refresh_what_works
from shared.services.evaluation import refresh_evaluation
from shared.services.ingestion import sweep_unprocessed
from shared.services.lifecycle import fit_when_due
from shared.services.rewards import sweep as sweep_rewards
from shared.store import sweeps as sweep_store
from shared.store.db import Database


@dataclass(frozen=True)
class SweepRun:
    duplicate: bool  # this (job, schedule time) ran before
    snapshots: int = 0  # snapshots whose webhook was lost, processed now
    examined: int = 0  # due rewards looked at
    computed: int = 0
    missing: int = 0
    waiting: int = 0
    redispatched: int = 0  # outbox rows whose dispatch after commit never happened
    normaliser: str | None = None  # the context normaliser fitted and activated by this run
    evaluated: int | None = None  # the policy version whose off-policy evaluation this run stored


def run_sweep(
    db: Database,
    sink: TaskSink,
    now: datetime,
    config: RewardConfig,
    params: PolicyParams,
    *,
    limit: int,
    job: str | None = None,
    scheduled_for: datetime | None = None,
    space: ActionSpace | None = None,
    normaliser_fit_after: int = 0,
    dashboard_every: timedelta = timedelta(0),
) -> SweepRun:
    """Unprocessed snapshots first (they may complete rewards), then due rewards,
    then stale outbox rows. Overlapping sweeps skip each other's locked rows.

    Last, with ``space`` and ``normaliser_fit_after`` = N > 0: once there are N
    decisions and no context normaliser was ever fitted, fit one and activate it
    (a lifecycle change, docs/lifecycle.md); overlapping sweeps fit it once. Then what
    the dashboard reads precomputed, when ``dashboard_every`` old: each cell's typical
    context, and the off-policy evaluation if the policy moved on since."""
    if job is not None and scheduled_for is not None:
        with db.transaction() as conn:
            if not sweep_store.claim_run(conn, job, scheduled_for, now):
                return SweepRun(duplicate=True)
    snapshots, snapshot_tasks = sweep_unprocessed(db, now, config, params, limit=limit)
    sink.dispatch(snapshot_tasks, now)
    rewards = sweep_rewards(db, now, config, params, lambda tasks: sink.dispatch(tasks, now), limit=limit)
    run = SweepRun(
        duplicate=False,
        snapshots=snapshots,
        examined=rewards.examined,
        computed=rewards.computed,
        missing=rewards.missing,
        waiting=rewards.waiting,
        redispatched=sink.redispatch_stale(now),
    )
    if space is not None:
        fitted = fit_when_due(db, space=space, now=now, after=normaliser_fit_after)
        if fitted is not None and fitted.applied:
            run = replace(run, normaliser=str(fitted.detail["normaliser"]))
        refresh_typical_contexts(db, now, every=dashboard_every)
        refresh_slot_rewards(db, now, every=dashboard_every)
        refresh_what_works(db, now, every=dashboard_every)
        evaluation = refresh_evaluation(db, space, now, every=dashboard_every)
        if evaluation is not None:
            run = replace(run, evaluated=evaluation.version)
    if job is not None and scheduled_for is not None:
        with db.transaction() as conn:
            sweep_store.store_report(conn, job, scheduled_for, asdict(run))
    return run
