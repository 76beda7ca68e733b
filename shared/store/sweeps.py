"""Claims of Cloud Scheduler runs: one row per (job, schedule time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from shared.store.db import Conn


def claim_run(conn: Conn, job: str, scheduled_for: datetime, now: datetime) -> bool:
    """False when this run finished before. A run that started but never reported
    (its instance died) may run again: sweeps are safe to repeat and to overlap."""
    conn.execute(
        "insert into sweep_runs (job, scheduled_for, started_at) values (%s, %s, %s) on conflict do nothing",
        (job, scheduled_for, now),
    )
    row = conn.execute(
        "select report is null from sweep_runs where job = %s and scheduled_for = %s for update",
        (job, scheduled_for),
    ).fetchone()
    return bool(row and row[0])


def store_report(conn: Conn, job: str, scheduled_for: datetime, report: dict[str, Any]) -> None:
    conn.execute(
        "update sweep_runs set report = %s where job = %s and scheduled_for = %s", (Jsonb(report), job, scheduled_for)
    )
