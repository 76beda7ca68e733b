"""Checks that engagement reports could have come from a platform (pure): the counters of
a post are cumulative, so a report may not fall below an earlier one of the same post nor
rise above a later one. A small fall is let through: people take likes back. A counter at 0
is taken as not reported (the API's default), so a report of some counters only passes."""

from __future__ import annotations

from collections.abc import Iterable

from shared.core.reward import Snapshot

FALL_SHARE = 0.02  # a counter may fall by this share of its earlier value ...
FALL_COUNT = 2  # ... or by this many, whichever is larger (unlikes, removed comments)


def _fell(earlier: int, later: int) -> bool:
    return later < earlier - max(FALL_COUNT, FALL_SHARE * earlier)


def falling_counter(stored: Iterable[Snapshot], new: Snapshot) -> str | None:
    """The name of the first counter of ``new`` that falls against a stored snapshot of the
    same post (below an earlier one, or above a later one, beyond the tolerance); None if
    none does. Snapshots at the same instant are the store's business (a redelivery)."""
    for snap in stored:
        if snap.observed_at == new.observed_at:
            continue
        for name, value in new.counters.items():
            other = snap.counters.get(name)
            if not value or not other:  # None or 0: not reported
                continue
            if snap.observed_at < new.observed_at and _fell(other, value):
                return name
            if snap.observed_at > new.observed_at and _fell(value, other):
                return name
    return None
