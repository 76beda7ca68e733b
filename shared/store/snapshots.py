"""Engagement snapshots (cumulative counters)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.reward import COUNTERS, Snapshot
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
        " impressions, reach, follower_count, late, received_at)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
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
