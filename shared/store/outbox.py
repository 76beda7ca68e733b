"""The transactional outbox: task rows written with the state change they follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from psycopg.types.json import Jsonb

from shared.core.tasks import Target, Task
from shared.store.db import Conn


@dataclass(frozen=True)
class OutboxRow:
    task: Task
    attempts: int


def add_task(conn: Conn, task: Task, now: datetime) -> bool:
    row = conn.execute(
        "insert into outbox (task_name, target, payload, schedule_time, created_at, updated_at)"
        " values (%s, %s, %s, %s, %s, %s) on conflict (task_name) do nothing returning task_name",
        (task.name, task.target, Jsonb(dict(task.payload)), task.schedule_time or now, now, now),
    ).fetchone()
    return row is not None


def lease_due(conn: Conn, now: datetime, limit: int, lease: timedelta) -> list[OutboxRow]:
    """Lease due pending tasks to this runner; a crashed runner's lease expires."""
    rows = conn.execute(
        "update outbox set attempts = attempts + 1, lease_until = %s, updated_at = %s"
        " where task_name in ("
        "  select task_name from outbox where status = 'pending' and schedule_time <= %s"
        "  and (lease_until is null or lease_until <= %s)"
        "  order by schedule_time, task_name limit %s for update skip locked)"
        " returning task_name, target, payload, schedule_time, attempts",
        (now + lease, now, now, now, limit),
    ).fetchall()
    out = [
        OutboxRow(
            task=Task(name=r[0], target=cast(Target, r[1]), payload=r[2], schedule_time=r[3]),
            attempts=r[4],
        )
        for r in rows
    ]
    out.sort(key=lambda o: (o.task.schedule_time or now, o.task.name))
    return out


def mark(conn: Conn, task_name: str, status: str, now: datetime, error: str | None = None) -> None:
    conn.execute(
        "update outbox set status = %s, last_error = %s, lease_until = null, updated_at = %s where task_name = %s",
        (status, error, now, task_name),
    )


def release(conn: Conn, task_name: str, retry_at: datetime, error: str) -> None:
    """Give a failed attempt back to the queue, to be retried at ``retry_at``."""
    conn.execute(
        "update outbox set lease_until = %s, last_error = %s, updated_at = now() where task_name = %s",
        (retry_at, error, task_name),
    )


def pending_before(conn: Conn, created_before: datetime, limit: int) -> list[OutboxRow]:
    """Pending rows created before ``created_before``: dispatch after commit did not happen."""
    rows = conn.execute(
        "select task_name, target, payload, schedule_time, attempts from outbox"
        " where status = 'pending' and created_at < %s order by created_at limit %s",
        (created_before, limit),
    ).fetchall()
    return [
        OutboxRow(task=Task(name=r[0], target=cast(Target, r[1]), payload=r[2], schedule_time=r[3]), attempts=r[4])
        for r in rows
    ]


def add_tasks(conn: Conn, tasks: list[Task], now: datetime) -> None:
    """Many task rows in one statement."""
    conn.execute(
        "insert into outbox (task_name, target, payload, schedule_time, created_at, updated_at)"
        " select n, t, p, s, %s, %s from unnest(%b::text[], %b::text[], %b::jsonb[], %b::timestamptz[])"
        " as u(n, t, p, s) on conflict (task_name) do nothing",
        (
            now,
            now,
            [t.name for t in tasks],
            [t.target for t in tasks],
            [Jsonb(dict(t.payload)) for t in tasks],
            [t.schedule_time or now for t in tasks],
        ),
    )
