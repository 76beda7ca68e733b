"""The local task runner: delivers due outbox rows to their functions.

It plays the part Cloud Tasks plays in production, with the same schedule
times and at-least-once delivery, but on an injectable clock, so a
simulation can run weeks in seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from shared.logs import log
from shared.store import outbox
from shared.store.db import Database

# target function, JSON payload → HTTP status of the delivery
Invoke = Callable[[str, Mapping[str, str]], int]


class LocalTaskRunner:
    def __init__(
        self,
        db: Database,
        invoke: Invoke,
        *,
        max_attempts: int = 5,
        lease: timedelta = timedelta(minutes=5),
        backoff: timedelta = timedelta(seconds=30),
        batch: int = 100,
    ) -> None:
        self.db = db
        self.invoke = invoke
        self.max_attempts = max_attempts
        self.lease = lease
        self.backoff = backoff
        self.batch = batch

    def run_due(self, now: datetime) -> int:
        """Deliver every task due at ``now``, including tasks those deliveries create."""
        delivered = 0
        while True:
            with self.db.transaction() as conn:
                rows = outbox.lease_due(conn, now, self.batch, self.lease)
            if not rows:
                return delivered
            for row in rows:
                status = self.invoke(row.task.target, row.task.payload)
                delivered += 1
                with self.db.transaction() as conn:
                    if 200 <= status < 300:
                        outbox.mark(conn, row.task.name, "done", now)
                    elif 400 <= status < 500 or row.attempts >= self.max_attempts:
                        # Permanent, or out of attempts: a dead-letter record stays behind.
                        outbox.mark(conn, row.task.name, "dead", now, error=f"HTTP {status}")
                        log("ERROR", "task dead-lettered", task=row.task.name, status=status)
                    else:
                        retry_at = now + self.backoff * (2 ** (row.attempts - 1))
                        outbox.release(conn, row.task.name, retry_at, f"HTTP {status}")
                        # A retry waits for its backoff: stop now and let the clock move on.
                        return delivered
