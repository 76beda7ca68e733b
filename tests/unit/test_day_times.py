"""The demo's line about the wall time of a simulated day (simulation/report.py)."""

from __future__ import annotations

from simulation.report import day_times


def test_early_and_late_days_are_compared_by_their_medians():
    # Days 1-5 warm up, days 6-12 take 1 s but for a one-off 9 s, the last seven 1.5 s.
    seconds = [5.0] * 5 + [1.0, 1.0, 9.0, 1.0, 1.0, 1.0, 1.0] + [2.0] * 3 + [1.5] * 7
    assert day_times(seconds) == (
        "Wall time per simulated day (median): 1.00 s over days 6-12, 1.50 s over days 16-22 (1.50x)."
    )


def test_a_campaign_too_short_for_two_windows_has_no_line():
    assert day_times([1.0] * 18) is None
    assert day_times([1.0] * 19) is not None
