"""Rewards by arm (policy vs holdback), for the lift report."""

from __future__ import annotations

from datetime import datetime

from shared.lift import ArmSummary
from shared.store.db import Conn


def arm_summaries(conn: Conn, since: datetime | None = None) -> dict[tuple[str, bool], ArmSummary]:
    """(platform or 'all', holdback) → count, mean and variance of the final rewards with a
    value, of posts scheduled since ``since`` (every post when None). One statement."""
    rows = conn.execute(
        "select coalesce(p.platform, 'all'), d.holdback, count(*), avg(r.value), coalesce(var_samp(r.value), 0)"
        " from rewards r join decisions d using (post_id) join posts p using (post_id)"
        " where r.status <> 'pending' and r.value is not null and (%s::timestamptz is null or p.scheduled_for >= %s)"
        " group by grouping sets ((p.platform, d.holdback), (d.holdback))",
        (since, since),
    ).fetchall()
    return {(r[0], bool(r[1])): ArmSummary(int(r[2]), float(r[3]), float(r[4])) for r in rows}
