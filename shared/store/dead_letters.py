"""Dead letters: task deliveries rejected at their last attempt."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from shared.store.db import Conn
from shared.tasks.delivery import TaskDelivery

BODY_CHARS = 4096  # the start of the body is kept; its hash names all of it


def record(
    conn: Conn,
    function: str,
    delivery: TaskDelivery,
    *,
    status: int,
    error: dict[str, Any],
    body: bytes,
    now: datetime,
) -> bool:
    """Insert the dead letter of ``delivery``; False when that task was dead-lettered before."""
    text = body[:BODY_CHARS].decode("utf-8", "replace").replace("\x00", "\ufffd")
    row = conn.execute(
        "insert into dead_letters (function, queue, task_name, attempt, executions, status, error, body,"
        " body_sha256, body_bytes, created_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (queue, task_name) do nothing returning dead_letter_id",
        (
            function,
            delivery.queue,
            delivery.task_name,
            delivery.attempt,
            delivery.executions,
            status,
            Jsonb(error),
            text,
            hashlib.sha256(body).hexdigest(),
            len(body),
            now,
        ),
    ).fetchone()
    return row is not None
