"""Dead letters: task deliveries rejected at their last attempt."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from shared.core.delivery import TaskDelivery
from shared.store.db import Conn

BODY_CHARS = 4096  # the start of the body is kept; its hash names all of it
NUL, REPLACEMENT = "\x00", "\ufffd"


def _storable(value: Any) -> Any:
    """``value`` with every NUL replaced: Postgres text and jsonb cannot hold one, and a body, a
    field name (in the error) or a header may carry it; the record must still be written."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT)
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


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
    text = _storable(body[:BODY_CHARS].decode("utf-8", "replace"))
    row = conn.execute(
        "insert into dead_letters (function, queue, task_name, attempt, executions, status, error, body,"
        " body_sha256, body_bytes, created_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (queue, task_name) do nothing returning dead_letter_id",
        (
            function,
            _storable(delivery.queue),
            _storable(delivery.task_name),
            delivery.attempt,
            delivery.executions,
            status,
            Jsonb(_storable(error)),
            text,
            hashlib.sha256(body).hexdigest(),
            len(body),
            now,
        ),
    ).fetchone()
    return row is not None
