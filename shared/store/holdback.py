"""Rewards by arm (policy vs holdback), for the lift report: sums of the per-day activity
table (migration 20261206040000_activity_days.sql), not a scan of every reward."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from shared.core.lift import ArmSummary
from shared.store.dashboard import scope_filter
from shared.store.db import Conn


def arm_summaries(
    conn: Conn, since: date | None = None, owner: UUID | None = None, business: UUID | None = None
) -> dict[tuple[str, bool], ArmSummary]:
    """(platform or 'all', holdback) → count, mean and variance of the final reward values
    of the posts scheduled from ``since`` (a UTC day; every post when None), of every business
    or of an ``owner``'s or one ``business`` (the per-business table). One statement."""
    table = "activity_days" if owner is None and business is None else "business_activity_days"
    where, params = scope_filter(owner, business)
    rows = conn.execute(
        "select coalesce(platform, 'all'), holdback, sum(valued), sum(reward_sum), sum(reward_sumsq)"
        f" from {table} where {where} and (%s::date is null or day >= %s)"
        " group by grouping sets ((platform, holdback), (holdback)) having sum(valued) > 0",
        (*params, since, since),
    ).fetchall()
    return {(r[0], bool(r[1])): ArmSummary.of_sums(int(r[2]), float(r[3]), float(r[4])) for r in rows}
