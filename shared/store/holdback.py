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
    where, params = scope_filter(owner, business)
    every = owner is None and business is None
    # Every post's: from the per-week rows (a seventh of the days').
    if since is None:
        table, span = ("activity_weeks" if every else "business_activity_weeks"), ""
    else:
        table, span = ("activity_days" if every else "business_activity_days"), " and day >= %s"
    rows = conn.execute(
        "select coalesce(platform, 'all'), holdback, sum(valued), sum(reward_sum), sum(reward_sumsq)"
        f" from {table} where {where}{span}"
        " group by grouping sets ((platform, holdback), (holdback)) having sum(valued) > 0",
        (*params, *([] if since is None else [since])),
    ).fetchall()
    return {(r[0], bool(r[1])): ArmSummary.of_sums(int(r[2]), float(r[3]), float(r[4])) for r in rows}
