"""Engagement snapshots (cumulative counters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from shared.core.reward import COUNTERS, Snapshot
from shared.store.db import Conn

_COUNTER_COLUMNS = ", ".join(COUNTERS)


def insert_snapshot(
    conn: Conn,
    post_id: UUID,
    snapshot: Snapshot,
    *,
    impressions: int | None,
    reach: int | None,
    late: bool,
    received_at: datetime,
) -> bool:
    """Store one observation; False when (post, observed_at) is stored already."""
    row = conn.execute(
        f"insert into snapshots (post_id, observed_at, timeslot_hours, {_COUNTER_COLUMNS},"
        " impressions, reach, follower_count, late, received_at, processed_at)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (post_id, observed_at) do nothing returning snapshot_id",
        (
            post_id,
            snapshot.observed_at,
            snapshot.timeslot_hours,
            *(snapshot.counters.get(c, 0) for c in COUNTERS),
            impressions,
            reach,
            snapshot.follower_count,
            late,
            received_at,
            received_at,
        ),
    ).fetchone()
    return row is not None


def list_snapshots(conn: Conn, post_id: UUID) -> list[Snapshot]:
    rows = conn.execute(
        f"select observed_at, timeslot_hours, follower_count, {_COUNTER_COLUMNS}"
        " from snapshots where post_id = %s order by observed_at",
        (post_id,),
    ).fetchall()
    return [
        Snapshot(
            observed_at=r[0],
            timeslot_hours=r[1],
            follower_count=r[2],
            counters=dict(zip(COUNTERS, (int(v) for v in r[3:]), strict=True)),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class LockedSnapshot:
    post_id: UUID
    processed: bool  # its webhook (or a sweep) handled it already


def lock_snapshot(conn: Conn, snapshot_id: int) -> LockedSnapshot | None:
    """A snapshot row's post and processed mark, the row locked; None when there is no such row."""
    row = conn.execute(
        "select post_id, processed_at is not null from snapshots where snapshot_id = %s for update",
        (snapshot_id,),
    ).fetchone()
    return None if row is None else LockedSnapshot(*row)


def mark_processed(conn: Conn, snapshot_id: int, late: bool, now: datetime) -> None:
    conn.execute("update snapshots set processed_at = %s, late = %s where snapshot_id = %s", (now, late, snapshot_id))


def claim_unprocessed(conn: Conn, limit: int) -> list[int]:
    """Snapshots inserted directly whose webhook never arrived (or is in flight)."""
    rows = conn.execute(
        "select snapshot_id from snapshots where processed_at is null"
        " order by snapshot_id limit %s for update skip locked",
        (limit,),
    ).fetchall()
    return [int(r[0]) for r in rows]


def snapshots_of(conn: Conn, post_ids: list[UUID]) -> dict[UUID, list[Snapshot]]:
    """Every snapshot of ``post_ids``, by post, oldest first."""
    rows = conn.execute(
        f"select post_id, observed_at, timeslot_hours, follower_count, {_COUNTER_COLUMNS}"
        " from snapshots where post_id = any(%b) order by post_id, observed_at",
        (post_ids,),
    ).fetchall()
    out: dict[UUID, list[Snapshot]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(
            Snapshot(
                observed_at=r[1],
                timeslot_hours=r[2],
                follower_count=r[3],
                counters=dict(zip(COUNTERS, (int(v) for v in r[4:]), strict=True)),
            )
        )
    return out
