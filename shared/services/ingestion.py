"""record_snapshot: the one ingestion point for what happens to a post on its platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.errors import Conflict, NotFound, PermanentError
from shared.reward import RewardConfig, Snapshot
from shared.services.publishing import delete, not_in_future, publish
from shared.services.rewards import settle
from shared.store import posts as post_store
from shared.store import rewards as reward_store
from shared.store import snapshots as snapshot_store
from shared.store.db import Database
from shared.tasks.model import Task


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
class Deleted:
    post_id: UUID
    deleted_at: datetime


Event = Published | Metrics | Deleted


@dataclass(frozen=True)
class Ingested:
    post_id: UUID
    kind: Literal["published", "metrics", "deleted"]
    changed: bool  # False: a redelivery, nothing new
    late: bool = False  # a snapshot that arrived after the reward was final
    reward: str | None = None  # outcome of settling the reward, when tried
    tasks: tuple[Task, ...] = ()


def record_event(db: Database, event: Event, now: datetime, config: RewardConfig, beta: float) -> Ingested:
    """Apply one event in one transaction; redelivery changes nothing twice."""
    with db.transaction() as conn:
        post = post_store.get_post(conn, event.post_id, for_update=True)
        if post is None:
            raise NotFound("no such post", field="post_id")
        if isinstance(event, Published):
            tasks = publish(conn, post, event.media_id, event.posted_at, config, now)
            return Ingested(post.post_id, "published", bool(tasks), tasks=tasks)
        if isinstance(event, Deleted):
            return Ingested(post.post_id, "deleted", delete(conn, post, event.deleted_at, now))

        snap = event.snapshot
        not_in_future(snap.observed_at, now, "observed_at")
        if post.posted_at is None:
            raise Conflict("post is not published yet", field="post_id")
        if snap.observed_at < post.posted_at:
            raise PermanentError("observed_at is before posted_at", field="observed_at")
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
        if not stored or late:
            return Ingested(post.post_id, "metrics", stored, late=late)
        settled = settle(conn, post.post_id, now, config, beta)
        return Ingested(post.post_id, "metrics", True, reward=settled.outcome, tasks=settled.tasks)
