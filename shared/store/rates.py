"""Per-business hourly counters (the snapshot rate limit, shared/core/rate_limits.py)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.store.db import Conn


def count_snapshot(conn: Conn, business_id: UUID, window_start: datetime) -> int:
    """Add one snapshot to the business's count of the hour and return the count; the
    business's counters of earlier hours go in the same statement (one row per business
    stays). The row stays locked until the caller's transaction ends: a business's
    snapshots queue on it, other businesses' do not."""
    row = conn.execute(
        "with gone as (delete from business_rates where business_id = %s and window_start < %s)"
        " insert into business_rates (business_id, window_start, snapshots) values (%s, %s, 1)"
        " on conflict (business_id, window_start) do update set snapshots = business_rates.snapshots + 1"
        " returning snapshots",
        (business_id, window_start, business_id, window_start),
    ).fetchone()
    assert row is not None
    return int(row[0])
