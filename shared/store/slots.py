"""Rewards per posting slot (docs/best-time.md): each business's (business_slot_rewards) and
everyone's (slot_rewards), which the sweep recomputes every DASHBOARD_EVERY_HOURS."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.core.best_time import SlotStat
from shared.store.db import Conn

# Rewards older than this say little about when an audience reads now.
WINDOW_DAYS = 180


def own_slots_query(business_id: UUID, platform: str) -> tuple[str, tuple[UUID, str]]:
    """One business's rewards per slot on ``platform``, as the sweep last counted them (its
    rows go through ``slot_stats``; a decision reads them in its pipeline)."""
    return (
        "select time_bucket, day_of_week, posts, total, squares from business_slot_rewards"
        " where business_id = %s and platform = %s",
        (business_id, platform),
    )


def shared_slots_query(platform: str) -> tuple[str, tuple[str]]:
    """Everyone's rewards per slot on ``platform``."""
    return "select time_bucket, day_of_week, posts, total, squares from slot_rewards where platform = %s", (platform,)


def slot_stats(rows: Iterable[tuple[Any, ...]]) -> list[SlotStat]:
    return [SlotStat(b, int(d), int(n), float(t), float(s)) for b, d, n, t, s in rows]


def own_slot_stats(conn: Conn, business_id: UUID, platform: str) -> list[SlotStat]:
    return slot_stats(conn.execute(*own_slots_query(business_id, platform)))


def slot_stats_of(conn: Conn, business_ids: list[UUID]) -> dict[tuple[UUID, str], list[SlotStat]]:
    """Each (business, platform)'s own slot statistics, for several businesses in one read."""
    out: dict[tuple[UUID, str], list[SlotStat]] = {}
    for business, platform, b, d, n, t, s in conn.execute(
        "select business_id, platform, time_bucket, day_of_week, posts, total, squares"
        " from business_slot_rewards where business_id = any(%s)",
        (business_ids,),
    ):
        out.setdefault((business, platform), []).append(SlotStat(b, int(d), int(n), float(t), float(s)))
    return out


def shared_slot_stats_by_platform(conn: Conn) -> dict[str, list[SlotStat]]:
    out: dict[str, list[SlotStat]] = {}
    for platform, b, d, n, t, s in conn.execute(
        "select platform, time_bucket, day_of_week, posts, total, squares from slot_rewards"
    ):
        out.setdefault(platform, []).append(SlotStat(b, int(d), int(n), float(t), float(s)))
    return out


def shown_businesses(
    conn: Conn, owner: UUID | None, since: datetime, limit: int, business: UUID | None = None
) -> list[tuple[UUID, str, str]]:
    """(id, name, time zone) of the businesses the page names: the one ``business`` shown; an
    owner's own; for an operator, the ``limit`` that posted most since the week of ``since``
    began (from the per-week activity, not the posts)."""
    if business is not None:
        rows = conn.execute(
            "select business_id, name, time_zone from profiles where business_id = %s", (business,)
        ).fetchall()
    elif owner is not None:
        rows = conn.execute(
            "select business_id, name, time_zone from profiles where owner_id = %s order by name limit %s",
            (owner, limit),
        ).fetchall()
    else:
        rows = conn.execute(
            "select p.business_id, p.name, p.time_zone from profiles p join ("
            "  select business_id, sum(decisions) as n from business_activity_weeks"
            "  where week >= date_trunc('week', %s::date)::date"
            "  group by 1 order by 2 desc limit %s) a using (business_id) order by a.n desc, p.name",
            (since, limit),
        ).fetchall()
    return [(b, n, z) for b, n, z in rows]


def shared_slot_stats(conn: Conn, platform: str) -> list[SlotStat]:
    return slot_stats(conn.execute(*shared_slots_query(platform)))


def shared_computed_at(conn: Conn) -> datetime | None:
    row = conn.execute("select max(computed_at) from slot_rewards").fetchone()
    return None if row is None else row[0]


# Overlapping sweeps: one recomputes, the other skips (transaction-scoped, so a pooler is fine).
_SLOT_REWARDS_LOCK = 7_202_612_060_601


def refresh_slot_stats(conn: Conn, now: datetime) -> bool:
    """Recompute each business's and everyone's rewards per slot (the sweep); False when an
    overlapping sweep is doing it (its rows would collide with these)."""
    if not conn.execute("select pg_try_advisory_xact_lock(%s)", (_SLOT_REWARDS_LOCK,)).fetchone()[0]:  # type: ignore[index]
        return False
    conn.execute("delete from business_slot_rewards")
    conn.execute("delete from slot_rewards")
    conn.execute(
        "insert into business_slot_rewards"
        " (business_id, platform, time_bucket, day_of_week, posts, total, squares, computed_at)"
        " select p.business_id, d.platform, d.time_bucket, d.day_of_week, count(*), sum(r.value),"
        " sum(r.value * r.value), %s"
        " from rewards r join decisions d on d.post_id = r.post_id join posts p on p.post_id = r.post_id"
        " where r.status = 'computed' and r.computed_at > %s - make_interval(days => %s)"
        " group by 1, 2, 3, 4",
        (now, now, WINDOW_DAYS),
    )
    conn.execute(
        "insert into slot_rewards (platform, time_bucket, day_of_week, posts, total, squares, computed_at)"
        " select platform, time_bucket, day_of_week, sum(posts), sum(total), sum(squares), %s"
        " from business_slot_rewards group by 1, 2, 3",
        (now,),
    )
    return True
