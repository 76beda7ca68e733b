"""Cumulative counters (shared/core/plausibility.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.plausibility import falling_counter
from shared.core.reward import Snapshot

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def snap(hours: float, **counters: int | None) -> Snapshot:
    return Snapshot(T0 + timedelta(hours=hours), counters)  # type: ignore[arg-type]


STORED = [snap(6, likes=100, comments=10), snap(24, likes=300, comments=30)]


@pytest.mark.parametrize(
    ("new", "falling"),
    [
        (snap(12, likes=200, comments=20), None),  # between its neighbours
        (snap(48, likes=400, comments=None), None),  # a counter not reported is not compared
        (snap(48, likes=400, comments=0), None),  # ... nor one at 0, the API's default
        (snap(48, likes=295, comments=30), None),  # a few likes taken back
        (snap(48, likes=250, comments=30), "likes"),  # below the 24 h report
        (snap(12, likes=500, comments=20), "likes"),  # above the later 24 h report
        (snap(3, likes=50, comments=11), None),  # within 2 of the later 10
        (snap(3, likes=50, comments=13), "comments"),
        (snap(6, likes=1, comments=1), None),  # the same instant: a redelivery, for the store
    ],
)
def test_a_counter_may_not_fall_beyond_a_few_taken_back(new: Snapshot, falling: str | None) -> None:
    assert falling_counter(STORED, new) == falling


def test_nothing_stored_nothing_falls() -> None:
    assert falling_counter([], snap(1, likes=0)) is None
