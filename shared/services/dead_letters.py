"""Recording a task that is rejected at its last attempt (docs/architecture.md, dead letters)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.core.delivery import TaskDelivery
from shared.errors import TransientError
from shared.logs import log
from shared.store import dead_letters as dead_letter_store
from shared.store.db import Database


def record_dead_letter(
    db: Database,
    function: str,
    delivery: TaskDelivery,
    *,
    status: int,
    error: dict[str, Any],
    body: bytes,
    now: datetime,
) -> bool:
    """Keep the rejected delivery; the answer to the caller does not depend on this succeeding.

    When the database itself is what failed, the record cannot be written:
    the log line (ERROR, with the task name) is then the dead letter.
    """
    stored = False
    try:
        with db.transaction() as conn:
            stored = dead_letter_store.record(conn, function, delivery, status=status, error=error, body=body, now=now)
    except TransientError as exc:
        log("ERROR", "dead letter not stored", function=function, task=delivery.task_name, error=exc.message)
    log(
        "ERROR",
        "task dead-lettered",
        function=function,
        task=delivery.task_name,
        attempt=delivery.attempt,
        status=status,
        code=error.get("code"),
        duplicate=not stored,
    )
    return stored
