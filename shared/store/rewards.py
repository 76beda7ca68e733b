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


def claim_due(
    conn: Conn, now: datetime, after: tuple[datetime, UUID] | None, limit: int
) -> list[tuple[datetime, UUID]]:
    """Pending rewards that are due, locked, as (eligible_at, post_id); rows another
    sweep holds are skipped.

    Keyset pagination on (eligible_at, post_id), which the partial index
    rewards_pending_due_keyset serves as a range scan, lets one sweep walk the
    backlog in bounded batches without revisiting rewards that still wait.
    """
    if after is None:
        rows = conn.execute(
            "select eligible_at, post_id from rewards where status = 'pending' and eligible_at <= %s"
            " order by eligible_at, post_id limit %s for update skip locked",
            (now, limit),
        ).fetchall()
    else:
        rows = conn.execute(
            "select eligible_at, post_id from rewards where status = 'pending' and eligible_at <= %s"
            " and (eligible_at, post_id) > (%s, %s)"
            " order by eligible_at, post_id limit %s for update skip locked",
            (now, after[0], after[1], limit),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


@dataclass(frozen=True)
class SettlementInput:
    """A reward row with what settling it needs from its post and profile."""

    post_id: UUID
    status: str
    value: float | None
    eligible_at: datetime
    finalize_by: datetime
    platform: str
    posted_at: datetime
    deleted_at: datetime | None
    profile_followers: int | None


def lock_for_settlement(conn: Conn, post_ids: list[UUID]) -> list[SettlementInput]:
    """The reward rows of ``post_ids``, locked, in post_id order (a fixed lock order)."""
    rows = conn.execute(
        "select r.post_id, r.status, r.value, r.eligible_at, r.finalize_by, p.platform, p.posted_at,"
        " p.deleted_at, (pr.follower_counts ->> p.platform)::bigint"
        " from rewards r join posts p using (post_id) join profiles pr using (business_id)"
        " where r.post_id = any(%b) order by r.post_id for update of r",
        (post_ids,),
    ).fetchall()
    return [SettlementInput(*r) for r in rows]


def finalise_many(conn: Conn, rows: list[tuple[Any, ...]], definition_version: str, now: datetime) -> None:
    """rows: (post_id, status, value, components, baseline_before, baseline_after); one statement.

    The arrays go in binary (``%b``): the text format quotes every element in Python.
    """
    conn.execute(
        "update rewards r set status = u.s, value = u.v, components = u.c, baseline_before = u.bb,"
        " baseline_after = u.ba, definition_version = %s, computed_at = %s"
        " from unnest(%b::uuid[], %b::text[], %b::float8[], %b::jsonb[], %b::float8[], %b::float8[])"
        " as u(id, s, v, c, bb, ba) where r.post_id = u.id",
        (
            definition_version,
            now,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [None if r[3] is None else Jsonb(r[3]) for r in rows],
            [r[4] for r in rows],
            [r[5] for r in rows],
        ),
    )
