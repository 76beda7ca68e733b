"""Decision context (docs/spec.md §3): local time bucket, day of week, and x ∈ R^768."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from shared.core.context import (
    CONTEXT_DIM,
    EMBEDDING_DIM,
    build_context,
    context_vector,
    local_time,
    time_bucket_of,
    unit,
)


def embedding(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=EMBEDDING_DIM)


# --- time ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "bucket"),
    [
        (0, 0, "night"),
        (4, 59, "night"),
        (5, 0, "morning"),
        (11, 59, "morning"),
        (12, 0, "afternoon"),
        (16, 59, "afternoon"),
        (17, 0, "evening"),
        (20, 59, "evening"),
        (21, 0, "night"),
        (23, 59, "night"),
    ],
)
def test_time_buckets_change_exactly_at_their_boundaries(hour, minute, bucket):
    when = datetime(2026, 3, 4, hour, minute, tzinfo=UTC)  # a Wednesday
    ctx = build_context("instagram", when, "UTC", embedding(0), embedding(1))
    assert ctx.time_bucket == bucket
    assert ctx.day_of_week == 2


@pytest.mark.parametrize("hour", [-1, 24, 100])
def test_time_bucket_of_rejects_hours_outside_the_day(hour):
    with pytest.raises(ValueError):
        time_bucket_of(hour)


def test_the_time_is_converted_to_the_business_time_zone():
    # 2026-03-02 is a Monday; 23:30 UTC is 08:30 on Tuesday in Tokyo (UTC+9).
    ctx = build_context("x", datetime(2026, 3, 2, 23, 30, tzinfo=UTC), "Asia/Tokyo", None, None)
    assert (ctx.time_bucket, ctx.day_of_week) == ("morning", 1)
    # 03:00 UTC on Monday is 19:00 on Sunday in Los Angeles (UTC-8 in winter).
    ctx = build_context("x", datetime(2026, 3, 2, 3, 0, tzinfo=UTC), "America/Los_Angeles", None, None)
    assert (ctx.time_bucket, ctx.day_of_week) == ("evening", 6)


def test_daylight_saving_time_is_honoured():
    # New York moves to UTC-4 on 2026-03-08: 16:30 UTC is 11:30 before and 12:30 after.
    before = build_context("x", datetime(2026, 3, 6, 16, 30, tzinfo=UTC), "America/New_York", None, None)
    after = build_context("x", datetime(2026, 3, 9, 16, 30, tzinfo=UTC), "America/New_York", None, None)
    assert (before.time_bucket, after.time_bucket) == ("morning", "afternoon")


def test_an_aware_time_in_another_offset_is_converted_too():
    # 10:00 at +05:30 is 04:30 UTC: still night in UTC.
    when = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert local_time(when, "UTC") == datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
    assert build_context("facebook", when, "UTC", None, None).time_bucket == "night"


def test_a_naive_datetime_is_rejected():
    with pytest.raises(ValueError):
        build_context("linkedin", datetime(2026, 3, 2, 9, 0), "UTC", embedding(0), embedding(1))


# --- x -----------------------------------------------------------------------------


def test_context_vector_concatenates_two_unit_halves():
    business = np.zeros(EMBEDDING_DIM)
    business[0], business[1] = 3.0, 4.0  # norm 5
    topic = embedding(7)
    x, fallback = context_vector(business, topic)
    assert x.shape == (CONTEXT_DIM,)
    assert fallback is False
    assert x[0] == pytest.approx(0.6) and x[1] == pytest.approx(0.8)
    assert np.count_nonzero(x[:EMBEDDING_DIM]) == 2
    assert np.linalg.norm(x[EMBEDDING_DIM:]) == pytest.approx(1.0)
    assert x[EMBEDDING_DIM:] == pytest.approx(topic / np.sqrt(np.sum(topic**2)))


def test_context_vector_does_not_depend_on_the_scale_of_an_embedding():
    b, t = embedding(1), embedding(2)
    assert context_vector(b, t)[0] == pytest.approx(context_vector(1000 * b, 0.001 * t)[0])


@pytest.mark.parametrize(
    ("business", "topic", "zero_half"),
    [
        (None, embedding(3), slice(0, EMBEDDING_DIM)),
        (np.zeros(EMBEDDING_DIM), embedding(3), slice(0, EMBEDDING_DIM)),
        (embedding(3), None, slice(EMBEDDING_DIM, CONTEXT_DIM)),
        (embedding(3), np.zeros(EMBEDDING_DIM), slice(EMBEDDING_DIM, CONTEXT_DIM)),
        (None, None, slice(0, CONTEXT_DIM)),
    ],
)
def test_a_missing_or_all_zero_half_is_zeros_and_flags_a_fallback(business, topic, zero_half):
    x, fallback = context_vector(business, topic)
    again, _ = context_vector(business, topic)
    assert fallback is True
    assert x.shape == (CONTEXT_DIM,)
    assert np.all(x[zero_half] == 0.0)
    assert np.array_equal(x, again)  # never random noise
    norm = np.linalg.norm(x)
    assert norm == pytest.approx(0.0 if zero_half == slice(0, CONTEXT_DIM) else 1.0)


def test_a_fallback_context_is_flagged_by_build_context():
    when = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert build_context("x", when, "UTC", None, embedding(0)).fallback is True
    full = build_context("x", when, "UTC", embedding(1), embedding(0))
    assert full.fallback is False
    assert full.platform == "x"
    assert full.x == pytest.approx(context_vector(embedding(1), embedding(0))[0])


@pytest.mark.parametrize(
    "shape", [(EMBEDDING_DIM - 1,), (EMBEDDING_DIM + 1,), (CONTEXT_DIM,), (EMBEDDING_DIM, 1), (2, EMBEDDING_DIM)]
)
@pytest.mark.parametrize("half", ["business", "topic"])
def test_an_embedding_of_the_wrong_shape_is_rejected(shape, half):
    bad = np.ones(shape)
    args = (bad, embedding(0)) if half == "business" else (embedding(0), bad)
    with pytest.raises(ValueError):
        context_vector(*args)


@pytest.mark.parametrize("shape", [(EMBEDDING_DIM - 1,), (CONTEXT_DIM,)])
def test_an_all_zero_embedding_of_the_wrong_shape_is_rejected(shape):
    # A zero vector of the wrong length is bad input, not a missing embedding.
    with pytest.raises(ValueError):
        context_vector(embedding(0), np.zeros(shape))


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("half", ["business", "topic"])
def test_a_non_finite_embedding_is_rejected(bad_value, half):
    bad = embedding(5)
    bad[17] = bad_value
    args = (bad, embedding(0)) if half == "business" else (embedding(0), bad)
    with pytest.raises(ValueError):
        context_vector(*args)


def test_unit_of_a_zero_vector_is_zeros():
    out = unit(np.zeros(4))
    assert np.array_equal(out, np.zeros(4))
    assert unit(np.array([0.0, -2.0])) == pytest.approx([0.0, -1.0])
