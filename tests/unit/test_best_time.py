"""When to post (shared/core/best_time.py): the shrunk estimates against hand-computed ones,
the weekday rule, and the next time of a slot across time zones and daylight saving."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from shared.core.best_time import (
    DEFAULT_VARIANCE,
    LEAD,
    WEEKDAY_POSTS,
    SlotEstimate,
    SlotStat,
    best_slot,
    next_time,
    pooled_variance,
    slot_estimates,
)
from shared.core.context import TIME_BUCKETS, time_bucket_of


def stat(bucket: str, day: int, rewards: list[float]) -> SlotStat:
    return SlotStat(bucket, day, len(rewards), sum(rewards), sum(r * r for r in rewards))


def by_slot(estimates: list[SlotEstimate]) -> dict[tuple[str, int | None], SlotEstimate]:
    return {(e.time_bucket, e.day_of_week): e for e in estimates}


def test_without_any_data_every_bucket_is_the_prior_zero_with_the_default_spread():
    estimates = slot_estimates([], [], prior_posts=4)
    assert [e.time_bucket for e in estimates] == list(TIME_BUCKETS)
    half = 1.959963984540054 * math.sqrt(DEFAULT_VARIANCE / 4)
    for e in estimates:
        assert (e.expected, e.posts, e.day_of_week) == (0.0, 0, None)
        assert (e.low, e.high) == pytest.approx((-half, half))


def test_a_bucket_shrinks_the_businesss_mean_toward_the_shared_mean_moved_by_its_offset():
    # Everyone: morning 0.2 (10 posts), evening 0.4 (10 posts), each reward ±0.1 around it.
    shared = [stat("morning", 0, [0.1, 0.3] * 5), stat("evening", 0, [0.3, 0.5] * 5)]
    # The business: 4 morning posts averaging 0.5 (0.3 above everyone's morning).
    own = [stat("morning", 0, [0.4, 0.6, 0.4, 0.6])]
    k = 2.0
    got = by_slot(slot_estimates(own, shared, prior_posts=k))
    offset = (2.0 - 0.2 * 4) / (4 + k)  # the residuals' sum over n + k
    prior_morning = 0.2 + offset
    assert got[("morning", None)].expected == pytest.approx((2.0 + k * prior_morning) / (4 + k))
    assert got[("evening", None)].expected == pytest.approx(0.4 + offset)  # no own posts: the prior
    # Pooled within-slot variance: shared slots 0.01 each (sum of squares about the mean), own 0.01.
    variance = pooled_variance([*own, *shared])
    within = 10 * 0.01 + 10 * 0.01 + 4 * 0.01
    assert variance == pytest.approx(within / (9 + 9 + 3))
    half = 1.959963984540054 * math.sqrt(variance / (4 + k))
    assert got[("morning", None)].high - got[("morning", None)].expected == pytest.approx(half)
    assert got[("morning", None)].posts == 4 and got[("evening", None)].posts == 0


def test_many_own_posts_outweigh_the_prior():
    shared = [stat("night", d, [0.6] * 20) for d in range(7)]
    own = [stat("night", d, [0.1] * 30) for d in range(7)]
    got = by_slot(slot_estimates(own, shared))
    assert got[("night", None)].expected < 0.2


def test_a_weekday_is_estimated_only_where_the_business_has_enough_posts_in_it():
    own = [stat("evening", 2, [0.8] * WEEKDAY_POSTS), stat("evening", 3, [0.1] * (WEEKDAY_POSTS - 1))]
    got = by_slot(slot_estimates(own, []))
    assert ("evening", 2) in got and ("evening", 3) not in got
    # Its prior is the bucket's estimate, which its own posts then pull up.
    assert got[("evening", 2)].expected > got[("evening", None)].expected
    assert best_slot(list(got.values())) == got[("evening", 2)]


def test_the_best_slot_prefers_a_bucket_to_an_equal_weekday():
    a = SlotEstimate("morning", None, 0.3, 0.1, 0.5, 3)
    b = SlotEstimate("morning", 4, 0.3, 0.0, 0.6, 6)
    assert best_slot([b, a]) == a
    with pytest.raises(ValueError):
        best_slot([])


@pytest.mark.parametrize(
    ("now", "zone", "slot", "expected"),
    [
        # 08:00 in Berlin (07:00 UTC, winter): today's 09:00 is 60 min away, past the lead.
        (datetime(2026, 1, 5, 7, 0, tzinfo=UTC), "Europe/Berlin", ("morning", None), "2026-01-05T09:00:00+01:00"),
        # 08:45 in Berlin: 09:00 is within the lead, so tomorrow's.
        (datetime(2026, 1, 5, 7, 45, tzinfo=UTC), "Europe/Berlin", ("morning", None), "2026-01-06T09:00:00+01:00"),
        # A Friday evening from a Monday, in Los Angeles.
        (datetime(2026, 1, 5, 12, 0, tzinfo=UTC), "America/Los_Angeles", ("evening", 4), "2026-01-09T18:00:00-08:00"),
        # Across the spring change: 22:00 on the Sunday the clocks moved, at +02:00.
        (datetime(2026, 3, 29, 0, 0, tzinfo=UTC), "Europe/Berlin", ("night", 6), "2026-03-29T22:00:00+02:00"),
    ],
)
def test_the_next_time_of_a_slot_is_its_local_hour_after_the_lead(now, zone, slot, expected):
    got = next_time(SlotEstimate(slot[0], slot[1], 0.0, 0.0, 0.0, 0), now, zone)
    assert got.isoformat() == expected
    assert got - now >= LEAD
    assert time_bucket_of(got.hour) == slot[0]
    if slot[1] is not None:
        assert got.weekday() == slot[1]
