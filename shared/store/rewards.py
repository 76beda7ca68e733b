"""Reward rows: pending until computed (or missing), then final."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from shared.store.db import Conn


@dataclass(frozen=True)
class RewardRow:
    post_id: UUID
    status: str
    eligible_at: datetime
    finalize_by: datetime
    value: float | None
    baseline_before: float | None
    baseline_after: float | None
    definition_version: str | None


_COLUMNS = "post_id, status, eligible_at, finalize_by, value, baseline_before, baseline_after, definition_version"


def create_pending(conn: Conn, post_id: UUID, eligible_at: datetime, finalize_by: datetime) -> bool:
    row = conn.execute(
        "insert into rewards (post_id, eligible_at, finalize_by) values (%s, %s, %s)"
        " on conflict (post_id) do nothing returning post_id",
        (post_id, eligible_at, finalize_by),
    ).fetchone()
    return row is not None


def get_reward(conn: Conn, post_id: UUID, *, for_update: bool = False) -> RewardRow | None:
    lock = " for update" if for_update else ""
    row = conn.execute(f"select {_COLUMNS} from rewards where post_id = %s{lock}", (post_id,)).fetchone()
    return None if row is None else RewardRow(*row)


def finalise(
    conn: Conn,
    post_id: UUID,
    *,
    status: str,
    value: float | None,
    components: dict[str, Any] | None,
    baseline_before: float | None,
    baseline_after: float | None,
    definition_version: str,
    now: datetime,
) -> None:
    conn.execute(
        "update rewards set status = %s, value = %s, components = %s, baseline_before = %s,"
        " baseline_after = %s, definition_version = %s, computed_at = %s where post_id = %s",
        (
            status,
            value,
            None if components is None else Jsonb(components),
            baseline_before,
            baseline_after,
            definition_version,
            now,
            post_id,
        ),
    )


def claim_due(conn: Conn, now: datetime, after: UUID | None, limit: int) -> list[UUID]:
    """Pending rewards that are due, locked; rows another sweep holds are skipped.

    Keyset pagination on post_id lets one sweep walk the backlog in bounded
    batches without revisiting rewards that are still waiting for snapshots.
    """
    rows = conn.execute(
        "select post_id from rewards where status = 'pending' and eligible_at <= %s"
        " and (%s::uuid is null or post_id > %s::uuid)"
        " order by post_id limit %s for update skip locked",
        (now, after, after, limit),
    ).fetchall()
    return [r[0] for r in rows]
