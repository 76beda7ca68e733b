"""Business profiles."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import numpy as np
from psycopg.types.json import Jsonb

from shared.core.profile import Profile
from shared.core.variety import VarietyCap
from shared.store.db import Conn

_COLUMNS = (
    "business_id, name, business_types, industries, description, brand_voice, brand_tone,"
    " audience, colours, time_zone, embedding, follower_counts, owner_id, require_approval,"
    " variety_window, variety_max_repeats"
)


def upsert_profile(conn: Conn, p: Profile) -> None:
    conn.execute(
        f"insert into profiles ({_COLUMNS}) values"
        " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (business_id) do update set"
        " name = excluded.name, business_types = excluded.business_types,"
        " industries = excluded.industries, description = excluded.description,"
        " brand_voice = excluded.brand_voice, brand_tone = excluded.brand_tone,"
        " audience = excluded.audience, colours = excluded.colours,"
        " time_zone = excluded.time_zone, embedding = excluded.embedding,"
        " follower_counts = excluded.follower_counts, owner_id = excluded.owner_id,"
        " require_approval = excluded.require_approval, variety_window = excluded.variety_window,"
        " variety_max_repeats = excluded.variety_max_repeats,"
        " updated_at = now()",
        (
            p.business_id,
            p.name,
            list(p.business_types),
            list(p.industries),
            p.description,
            p.brand_voice,
            p.brand_tone,
            p.audience,
            list(p.colours),
            p.time_zone,
            None if p.embedding is None else p.embedding.tolist(),
            Jsonb(dict(p.follower_counts)),
            p.owner_id,
            p.require_approval,
            p.variety.window,
            p.variety.max_repeats,
        ),
    )


def profile_query(business_id: UUID) -> tuple[str, tuple[UUID]]:
    return f"select {_COLUMNS} from profiles where business_id = %s", (business_id,)


def profile_from_row(row: tuple[Any, ...]) -> Profile:
    return Profile(
        business_id=row[0],
        name=row[1],
        business_types=tuple(row[2]),
        industries=tuple(row[3]),
        description=row[4],
        brand_voice=row[5],
        brand_tone=row[6],
        audience=row[7],
        colours=tuple(row[8]),
        time_zone=row[9],
        embedding=None if row[10] is None else np.asarray(row[10], dtype=np.float64),
        follower_counts={k: int(v) for k, v in row[11].items()},
        owner_id=row[12],
        require_approval=row[13],
        variety=VarietyCap(window=row[14], max_repeats=row[15]),
    )


def get_profile(conn: Conn, business_id: UUID) -> Profile | None:
    row = conn.execute(*profile_query(business_id)).fetchone()
    return None if row is None else profile_from_row(row)


def owner_for_update(conn: Conn, business_id: UUID) -> tuple[bool, UUID | None]:
    """(whether the business exists, its owner), its row locked until the transaction ends."""
    row = conn.execute("select owner_id from profiles where business_id = %s for update", (business_id,)).fetchone()
    return (False, None) if row is None else (True, row[0])


def exists(conn: Conn, business_id: UUID) -> bool:
    return conn.execute("select 1 from profiles where business_id = %s", (business_id,)).fetchone() is not None


def owner_of_business(conn: Conn, business_id: UUID) -> UUID | None:
    row = conn.execute("select owner_id from profiles where business_id = %s", (business_id,)).fetchone()
    return None if row is None else row[0]


def owner_of_post(conn: Conn, post_id: UUID) -> UUID | None:
    row = conn.execute(
        "select p.owner_id from posts join profiles p using (business_id) where posts.post_id = %s", (post_id,)
    ).fetchone()
    return None if row is None else row[0]
