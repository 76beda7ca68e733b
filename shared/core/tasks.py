"""A task: a named, scheduled call of one function with a small JSON body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

Target = Literal["compute_reward", "update_policy"]


@dataclass(frozen=True)
class Task:
    """``name`` is deterministic, so a redelivered step names the same task twice
    and the queue (outbox key, Cloud Tasks name) keeps one."""

    name: str
    target: Target
    payload: Mapping[str, str] = field(default_factory=dict)
    schedule_time: datetime | None = None


def reward_task(post_id: UUID, eligible_at: datetime) -> Task:
    return Task(
        name=f"compute_reward-{post_id}",
        target="compute_reward",
        payload={"post_id": str(post_id)},
        schedule_time=eligible_at,
    )


def update_task(post_id: UUID, now: datetime) -> Task:
    return Task(
        name=f"update_policy-{post_id}",
        target="update_policy",
        payload={"post_id": str(post_id)},
        schedule_time=now,
    )


class TaskSink(Protocol):
    """Where outbox rows go after commit (Cloud Tasks in production).

    The local implementation delivers from the outbox itself, so its sink
    does nothing; the Cloud Tasks relay creates one task per row.
    """

    def dispatch(self, tasks: Sequence[Task], now: datetime) -> None: ...

    def redispatch_stale(self, now: datetime) -> int:
        """Dispatch rows whose dispatch after commit never happened; returns how many."""
        ...


class OutboxOnly:
    """The local sink: tasks stay in the outbox until the local runner delivers them."""

    def dispatch(self, tasks: Sequence[Task], now: datetime) -> None:
        return None

    def redispatch_stale(self, now: datetime) -> int:
        return 0
