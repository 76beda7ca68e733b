"""When to post (docs/best-time.md): read one business's and everyone's rewards per slot,
estimate each slot (shared/core/best_time.py), name the best and its next time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from shared.core.best_time import SlotEstimate, SlotStat, best_slot, next_time, slot_estimates, slot_label
from shared.core.context import PLATFORMS
from shared.core.profile import Profile
from shared.errors import NotFound
from shared.presentation.data import BestTimeRow
from shared.store import profiles as profile_store
from shared.store import slots as slot_store
from shared.store.db import Conn, Database


@dataclass(frozen=True)
class BestTimes:
    business_id: UUID
    platform: str
    time_zone: str
    slots: list[SlotEstimate]  # every bucket, then the weekdays the data supports
    best: SlotEstimate
    next_time: datetime  # the best slot's next time, in the business's time zone


def best_times_in(conn: Conn, profile: Profile, platform: str, now: datetime) -> BestTimes:
    own = slot_store.own_slot_stats(conn, profile.business_id, platform)
    shared = slot_store.shared_slot_stats(conn, platform)
    return best_times_from(profile, platform, own, shared, now)


def best_times_from(
    profile: Profile, platform: str, own: Sequence[SlotStat], shared: Sequence[SlotStat], now: datetime
) -> BestTimes:
    """The estimates from slot statistics already read (a decision reads them in its pipeline)."""
    slots = slot_estimates(own, shared)
    best = best_slot(slots)
    return BestTimes(
        profile.business_id, platform, profile.time_zone, slots, best, next_time(best, now, profile.time_zone)
    )


def best_times(db: Database, business_id: UUID, platform: str, now: datetime) -> BestTimes:
    with db.statement() as conn:
        profile = profile_store.get_profile(conn, business_id)
        if profile is None:
            raise NotFound("no profile for this business", field="business_id")
        return best_times_in(conn, profile, platform, now)


def refresh_slot_rewards(db: Database, now: datetime, *, every: timedelta = timedelta(0)) -> bool:
    """Recompute each business's and everyone's rewards per slot unless they are younger
    than ``every``."""
    with db.statement() as conn:
        computed_at = slot_store.shared_computed_at(conn)
    if computed_at is not None and now - computed_at < every:
        return False
    with db.transaction() as conn:
        return slot_store.refresh_slot_stats(conn, now)


# Businesses the dashboard names in "When to post": an owner's own, or an operator's busiest.
SHOWN_BUSINESSES = 12


def best_time_rows(db: Database, owner: UUID | None, now: datetime, business: UUID | None = None) -> list[BestTimeRow]:
    """For the dashboard: each shown business's best time on each platform it posts on (of one
    ``business`` when given). Three reads whatever the data's size: the businesses, their own
    slot statistics, everyone's."""
    with db.statement() as conn:
        shown = slot_store.shown_businesses(conn, owner, now - timedelta(days=30), SHOWN_BUSINESSES, business)
        own = slot_store.slot_stats_of(conn, [b for b, _, _ in shown])
        shared = slot_store.shared_slot_stats_by_platform(conn)
    rows = []
    for business, name, zone in shown:
        for platform in PLATFORMS:
            stats = own.get((business, platform))
            if not stats:
                continue  # no rewarded post there yet
            slots = slot_estimates(stats, shared.get(platform, []))
            best = best_slot(slots)
            when = next_time(best, now, zone)
            label = slot_label(best)
            rows.append(BestTimeRow(name, platform, zone, label, best.expected, best.low, best.high, best.posts, when))
    return rows
