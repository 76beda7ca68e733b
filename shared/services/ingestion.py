"""record_snapshot: the one ingestion point for what happens to a post on its platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.core.plausibility import falling_counter
from shared.core.policy import PolicyParams
from shared.core.rate_limits import NO_LIMITS, RateLimits, retry_after, window_start
from shared.core.reward import RewardConfig, Snapshot
from shared.core.tasks import Task
from shared.errors import Conflict, NotFound, PermanentError, RateLimited
from shared.faults import fault_point
from shared.services.publishing import CLOCK_SKEW, delete, not_in_future, publish
from shared.services.rewards import settle
from shared.store import posts as post_store
from shared.store import rates as rate_store
from shared.store import rewards as reward_store
from shared.store import snapshots as snapshot_store
from shared.store.db import Conn, Database


@dataclass(frozen=True)
class Published:
    post_id: UUID
    media_id: str
    posted_at: datetime


@dataclass(frozen=True)
class Metrics:
    post_id: UUID
    snapshot: Snapshot
    impressions: int | None
    reach: int | None


@dataclass(frozen=True)
class Inserted:
    """A snapshot row written straight into the table (a Database Webhook notification)."""

    snapshot_id: int
    post_id: UUID


@dataclass(frozen=True)
class Deleted:
    post_id: UUID
    deleted_at: datetime


Event = Published | Metrics | Deleted | Inserted


@dataclass(frozen=True)
class Ingested:
    post_id: UUID
    kind: Literal["published", "metrics", "deleted", "inserted"]
    changed: bool  # False: a redelivery, nothing new
    late: bool = False  # a snapshot that arrived after the reward was final
    reward: str | None = None  # outcome of settling the reward, when tried
    tasks: tuple[Task, ...] = ()


def record_event(
    db: Database,
    event: Event,
    now: datetime,
    config: RewardConfig,
    params: PolicyParams,
    limits: RateLimits = NO_LIMITS,
) -> Ingested:
    """Apply one event in one transaction; redelivery changes nothing twice. A new snapshot
    past the business's hourly limit is refused (429) and nothing of it stays."""
    if isinstance(event, Inserted):
        with db.transaction() as conn:
            return _process_inserted(conn, event.snapshot_id, now, config, params)
    with db.transaction() as conn:
        post = post_store.get_post(conn, event.post_id, for_update=True)
        if post is None:
            raise NotFound("no such post", field="post_id")
        if isinstance(event, Published):
            tasks = publish(conn, post, event.media_id, event.posted_at, config, now)
            fault_point("record_snapshot.after_publish")
            return Ingested(post.post_id, "published", bool(tasks), tasks=tasks)
        if isinstance(event, Deleted):
            return Ingested(post.post_id, "deleted", delete(conn, post, event.deleted_at, now))

        snap = event.snapshot
        not_in_future(snap.observed_at, now, "observed_at")
        if post.posted_at is None:
            raise Conflict("post is not published yet", field="post_id")
        if snap.observed_at < post.posted_at:
            raise PermanentError("observed_at is before posted_at", field="observed_at")
        if post.deleted_at is not None and snap.observed_at > post.deleted_at + CLOCK_SKEW:
            raise PermanentError("observed_at is after the post was deleted", field="observed_at")
        falling = falling_counter(snapshot_store.list_snapshots(conn, post.post_id), snap)
        if falling is not None:
            raise PermanentError(
                f"{falling} falls against another snapshot of this post (counters are cumulative)", field=falling
            )
        reward = reward_store.get_reward(conn, post.post_id, for_update=True)
        assert reward is not None
        late = reward.status != "pending"
        stored = snapshot_store.insert_snapshot(
            conn,
            post.post_id,
            snap,
            impressions=event.impressions,
            reach=event.reach,
            late=late,
            received_at=now,
        )
        fault_point("record_snapshot.after_snapshot")
        cap = limits.snapshots_per_hour
        if stored and cap and rate_store.count_snapshot(conn, post.business_id, window_start(now)) > cap:
            raise RateLimited(
                f"this business sent {cap} snapshots this hour (the limit)", field="post_id",
                retry_after=retry_after(now),
            )  # fmt: skip
        if not stored or late:
            return Ingested(post.post_id, "metrics", stored, late=late)
        settled = settle(conn, post.post_id, now, config, params)
        return Ingested(post.post_id, "metrics", True, reward=settled.outcome, tasks=settled.tasks)


def _process_inserted(
    conn: Conn, snapshot_id: int, now: datetime, config: RewardConfig, params: PolicyParams
) -> Ingested:
    """Treat a webhook as a notification: re-read the row by id, then do what a
    metrics event would have done. The row's processed mark makes it idempotent."""
    found = snapshot_store.lock_snapshot(conn, snapshot_id)
    if found is None:
        raise NotFound("no such snapshot", field="record.snapshot_id")
    post_id = found.post_id
    if found.processed:
        return Ingested(post_id, "inserted", False)
    reward = reward_store.get_reward(conn, post_id, for_update=True)
    late = reward is not None and reward.status != "pending"
    snapshot_store.mark_processed(conn, snapshot_id, late, now)
    fault_point("record_snapshot.after_mark_processed")
    if reward is None or late:
        return Ingested(post_id, "inserted", True, late=late)
    settled = settle(conn, post_id, now, config, params)
    return Ingested(post_id, "inserted", True, reward=settled.outcome, tasks=settled.tasks)


def sweep_unprocessed(
    db: Database, now: datetime, config: RewardConfig, params: PolicyParams, *, batch: int = 200, limit: int = 10_000
) -> tuple[int, tuple[Task, ...]]:
    """Process the snapshots whose webhook was lost; returns (processed, tasks)."""
    done = 0
    tasks: list[Task] = []
    while done < limit:
        with db.transaction() as conn:
            ids = snapshot_store.claim_unprocessed(conn, min(batch, limit - done))
            for snapshot_id in ids:
                tasks.extend(_process_inserted(conn, snapshot_id, now, config, params).tasks)
        if not ids:
            break
        done += len(ids)
    return done, tuple(tasks)
