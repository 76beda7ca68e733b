"""Rewards per posting slot (docs/best-time.md): one business's, read live through its
posts, and everyone's, which the sweep keeps in slot_rewards."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.core.best_time import SlotStat
from shared.store.db import Conn

# Rewards older than this say little about when an audience reads now.
WINDOW_DAYS = 180


def own_slot_stats(conn: Conn, business_id: UUID, platform: str, now: datetime) -> list[SlotStat]:
    rows = conn.execute(
        "select d.time_bucket, d.day_of_week, count(*), sum(r.value), sum(r.value * r.value)"
        " from posts p join decisions d on d.post_id = p.post_id join rewards r on r.post_id = p.post_id"
        " where p.business_id = %s and p.platform = %s and r.status = 'computed'"
        " and p.created_at > %s - make_interval(days => %s)"
        " group by 1, 2",
        (business_id, platform, now, WINDOW_DAYS),
    ).fetchall()
    return [SlotStat(b, int(d), int(n), float(t), float(s)) for b, d, n, t, s in rows]


def shared_slot_stats(conn: Conn, platform: str) -> list[SlotStat]:
    rows = conn.execute(
        "select time_bucket, day_of_week, posts, total, squares from slot_rewards where platform = %s", (platform,)
    ).fetchall()
    return [SlotStat(b, int(d), int(n), float(t), float(s)) for b, d, n, t, s in rows]


def shared_computed_at(conn: Conn) -> datetime | None:
    row = conn.execute("select max(computed_at) from slot_rewards").fetchone()
    return None if row is None else row[0]


def refresh_shared_slot_stats(conn: Conn, now: datetime) -> int:
    """Recompute everyone's rewards per slot (the sweep); how many slots hold any."""
    conn.execute("delete from slot_rewards")
    return conn.execute(
        "insert into slot_rewards (platform, time_bucket, day_of_week, posts, total, squares, computed_at)"
        " select d.platform, d.time_bucket, d.day_of_week, count(*), sum(r.value), sum(r.value * r.value), %s"
        " from rewards r join decisions d on d.post_id = r.post_id"
        " where r.status = 'computed' and r.computed_at > %s - make_interval(days => %s)"
        " group by 1, 2, 3",
        (now, now, WINDOW_DAYS),
    ).rowcount
