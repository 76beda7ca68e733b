"""Reward math (docs/spec.md §5), checked against worked examples computed in the tests."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.core.context import PLATFORMS
from shared.core.reward import (
    COUNTERS,
    RewardConfig,
    Snapshot,
    deletion_penalty,
    engagement,
    is_complete,
    normalised_engagement,
    reward_from_snapshots,
    slot_of,
    window_snapshots,
)

POSTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONFIG = RewardConfig()


def snap(hours: float, follower_count: int | None = None, slot: int | None = None, **counters: int) -> Snapshot:
    return Snapshot(
        observed_at=POSTED + timedelta(hours=hours),
        counters=counters,
        follower_count=follower_count,
        timeslot_hours=slot,
    )


def r_eng(big_r: float, followers: int) -> float:
    return math.tanh(math.log(1 + big_r) / math.log(1 + max(followers, 1)))


# --- engagement per platform ------------------------------------------------------

ALL = {"likes": 10, "comments": 4, "shares": 3, "saves": 2, "replies": 5, "reposts": 6, "reactions": 7}


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("instagram", 3 * 2 + 2 * 3 + 1 * 4 + 0.3 * 10),  # saves, shares, comments, likes = 19
        ("x", 3 * 5 + 2 * 6 + 1 * 10),  # replies, reposts, likes = 37
        ("linkedin", 3 * 4 + 2 * 3 + 1 * 10),  # comments, shares, likes = 28
        ("facebook", 3 * 4 + 2 * 3 + 1 * 7),  # comments, shares, reactions = 25
    ],
)
def test_engagement_follows_each_platforms_formula(platform, expected):
    assert engagement(platform, ALL, CONFIG) == pytest.approx(expected)


def test_absent_counters_count_as_zero_and_foreign_counters_are_ignored():
    assert engagement("x", {}, CONFIG) == 0.0
    assert engagement("instagram", {"likes": 10}, CONFIG) == pytest.approx(3.0)
    assert engagement("instagram", {"replies": 100, "reactions": 100}, CONFIG) == 0.0
    assert engagement("facebook", {"likes": 100}, CONFIG) == 0.0


# --- slots and the window -------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "given", "expected"),
    [
        (-1.0, None, None),
        (0.0, None, None),
        (5.99, None, None),
        (6.0, None, 6),
        (23.9, None, 6),
        (24.0, None, 24),
        (47.0, None, 24),
        (48.0, None, 48),
        (100.0, None, 72),
        (168.0, None, 168),
        (500.0, None, 168),
        (3.0, 24, 24),
        (30.0, 6, 6),
    ],
)
def test_slot_of_uses_the_given_slot_else_the_largest_slot_reached(hours, given, expected):
    assert slot_of(snap(hours, slot=given), POSTED, CONFIG) == expected


def test_only_a_6h_snapshot_gives_r_equal_to_its_engagement():
    result = reward_from_snapshots("linkedin", [snap(6, likes=10, comments=1)], POSTED, None, 1000, CONFIG)
    assert result is not None
    assert result.slots_used == (6,)
    assert result.engagement == pytest.approx(10 + 3 * 1)
    assert result.followers == 1000
    assert result.r_eng == pytest.approx(r_eng(13, 1000))
    assert result.value == result.r_eng
    assert result.penalty == 0.0


def test_slot_weights_are_renormalised_over_the_slots_present():
    snaps = [snap(6, likes=10), snap(24, likes=40, shares=5)]
    result = reward_from_snapshots("linkedin", snaps, POSTED, None, 500, CONFIG)
    assert result is not None
    e6, e24 = 10.0, 40.0 + 2 * 5
    expected_r = (0.396 * e6 + 0.258 * e24) / (0.396 + 0.258)
    assert result.slots_used == (6, 24)
    assert result.engagement == pytest.approx(expected_r)
    assert result.value == pytest.approx(r_eng(expected_r, 500))


def test_only_a_24h_snapshot_gives_r_equal_to_its_engagement():
    result = reward_from_snapshots("x", [snap(25, replies=2)], POSTED, None, 100, CONFIG)
    assert result is not None
    assert result.slots_used == (24,)
    assert result.engagement == pytest.approx(6.0)


def test_the_earliest_observation_in_a_slot_stands_for_it():
    late, early = snap(30, likes=50), snap(24, likes=10)
    assert window_snapshots([late, early], POSTED, CONFIG) == {24: early}
    result = reward_from_snapshots("linkedin", [late, early], POSTED, None, 100, CONFIG)
    assert result is not None
    assert result.engagement == pytest.approx(10.0)


def test_the_earliest_observation_stands_for_a_given_slot_too():
    first, second = snap(7, slot=6, likes=3), snap(9, slot=6, likes=9)
    assert window_snapshots([second, first], POSTED, CONFIG) == {6: first}


def test_snapshots_at_48h_do_not_count_for_the_24h_window():
    result = reward_from_snapshots(
        "linkedin", [snap(6, likes=10), snap(48, likes=1000, follower_count=9)], POSTED, None, 100, CONFIG
    )
    assert result is not None
    assert result.slots_used == (6,)
    assert result.engagement == pytest.approx(10.0)
    assert result.followers == 100
    assert reward_from_snapshots("linkedin", [snap(48, likes=5)], POSTED, None, 100, CONFIG) is None


@pytest.mark.parametrize("snapshots", [[], [snap(2, likes=5)], [snap(5.9, likes=5)], [snap(72, likes=5)]])
def test_no_snapshot_in_the_window_gives_no_reward(snapshots):
    assert reward_from_snapshots("instagram", snapshots, POSTED, None, 100, CONFIG) is None


@pytest.mark.parametrize(
    ("snapshots", "complete"),
    [
        ([], False),
        ([snap(6)], False),
        ([snap(2), snap(23.9)], False),
        ([snap(48)], False),
        ([snap(6), snap(24)], True),
        ([snap(24)], True),
        ([snap(30)], True),
        ([snap(3, slot=24)], True),
    ],
)
def test_is_complete_only_when_the_24h_slot_has_a_snapshot(snapshots, complete):
    assert is_complete(snapshots, POSTED, CONFIG) is complete


# --- followers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snapshots", "profile", "expected"),
    [
        ([snap(6, follower_count=100), snap(24, follower_count=200)], 300, 200),
        ([snap(6, follower_count=100), snap(24)], 300, 100),
        ([snap(6), snap(24)], 999, 999),
        ([snap(6), snap(24, follower_count=0)], None, 0),
        ([snap(6), snap(24)], None, 0),
    ],
)
def test_followers_come_from_the_latest_window_snapshot_else_the_profile(snapshots, profile, expected):
    result = reward_from_snapshots("facebook", snapshots, POSTED, None, profile, CONFIG)
    assert result is not None
    assert result.followers == expected
    assert result.followers_reported is None


@pytest.mark.parametrize(
    ("reported", "used"), [(0, 250), (249, 250), (250, 250), (4000, 4000), (4001, 4000), (10**9, 4000)]
)
def test_a_follower_count_beyond_four_times_the_profiles_is_capped_and_kept_as_reported(reported, used):
    result = reward_from_snapshots("x", [snap(24, likes=10**12, follower_count=reported)], POSTED, None, 1000, CONFIG)
    assert result is not None and result.followers == used
    assert result.followers_reported == (None if used == reported else reported)
    assert result.components()["followers_reported"] == result.followers_reported
    assert result.value == pytest.approx(math.tanh(math.log1p(10**12) / math.log1p(used)))


@pytest.mark.parametrize("profile", [None, 0])
def test_followers_below_one_count_as_one(profile):
    result = reward_from_snapshots("facebook", [snap(24, comments=2)], POSTED, None, profile, CONFIG)
    assert result is not None
    assert result.r_eng == pytest.approx(math.tanh(math.log(1 + 6) / math.log(2)))


def test_normalised_engagement_is_vectorised_and_matches_the_formula():
    rs, fs = np.array([0.0, 5.0, 100.0, 3.0]), np.array([10.0, 1000.0, 50.0, 0.0])
    out = normalised_engagement(rs, fs)
    assert out == pytest.approx([r_eng(r, int(f)) for r, f in zip(rs, fs, strict=True)])
    assert out[0] == 0.0


# --- deletion -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"), [(0.0, 0.7), (3.0, 0.7 / math.e), (1.5, 0.7 * math.exp(-0.5)), (-2, 0.7)]
)
def test_deletion_penalty_decays_with_the_days_before_deletion(days, expected):
    assert deletion_penalty(POSTED, POSTED + timedelta(days=days), CONFIG) == pytest.approx(expected)


def test_a_deleted_post_loses_the_penalty_from_its_reward():
    deleted_at = POSTED + timedelta(hours=36)
    result = reward_from_snapshots("x", [snap(24, likes=30)], POSTED, deleted_at, 200, CONFIG)
    assert result is not None
    penalty = 0.7 * math.exp(-1.5 / 3)
    assert result.penalty == pytest.approx(penalty)
    assert result.r_eng == pytest.approx(r_eng(30, 200))
    assert result.value == pytest.approx(r_eng(30, 200) - penalty)


def test_the_stored_components_name_every_field_of_the_result():
    deleted_at = POSTED + timedelta(hours=36)
    result = reward_from_snapshots("x", [snap(6, likes=3), snap(24, likes=30)], POSTED, deleted_at, 200, CONFIG)
    assert result is not None
    expected = dataclasses.asdict(result) | {"slots_used": [6, 24]}
    assert result.components() == expected
    assert json.loads(json.dumps(result.components())) == expected


def test_the_penalised_reward_is_clamped_at_minus_one():
    config = RewardConfig(deletion_penalty=5.0)
    result = reward_from_snapshots("x", [snap(6)], POSTED, POSTED, 200, config)
    assert result is not None
    assert result.penalty == pytest.approx(5.0)
    assert result.value == -1.0


counter_maps = st.dictionaries(st.sampled_from(COUNTERS), st.integers(0, 10**12))
maybe_followers = st.none() | st.integers(0, 10**10)


@settings(max_examples=300, deadline=None)
@given(
    platform=st.sampled_from(PLATFORMS),
    observations=st.lists(
        st.tuples(st.floats(0, 200), counter_maps, maybe_followers, st.sampled_from([None, 6, 24, 48])), max_size=5
    ),
    profile=maybe_followers,
    deleted_days=st.none() | st.floats(-5, 60),
    penalty=st.floats(0, 10),
)
def test_the_reward_always_lies_in_minus_one_to_one(platform, observations, profile, deleted_days, penalty):
    config = RewardConfig(deletion_penalty=penalty)
    snaps = [snap(h, follower_count=f, slot=s, **c) for h, c, f, s in observations]
    deleted_at = None if deleted_days is None else POSTED + timedelta(days=deleted_days)
    result = reward_from_snapshots(platform, snaps, POSTED, deleted_at, profile, config)
    if result is None:
        assert not window_snapshots(snaps, POSTED, config)
        return
    assert math.isfinite(result.value)
    assert -1.0 <= result.value <= 1.0
    assert 0.0 <= result.r_eng <= 1.0
    assert result.value <= result.r_eng


# --- configuration ------------------------------------------------------------------


def test_default_constants_are_the_specified_ones():
    assert dict(CONFIG.slot_weights) == {6: 0.396, 24: 0.258, 48: 0.168, 72: 0.109, 168: 0.071}
    assert CONFIG.window_slots == (6, 24)
    assert (CONFIG.window_hours, CONFIG.max_wait_hours, CONFIG.deletion_penalty, CONFIG.deletion_decay_days) == (
        24,
        48.0,
        0.7,
        3.0,
    )
    # The slot weights are (to the spec's three decimals) a geometric decay of 0.65 per slot.
    total = sum(0.65**i for i in range(5))
    assert [CONFIG.slot_weights[s] for s in CONFIG.slots] == pytest.approx(
        [0.65**i / total for i in range(5)], abs=1e-3
    )


def test_the_version_is_stable_for_equal_configurations():
    reordered = RewardConfig(slot_weights=dict(reversed(list(CONFIG.slot_weights.items()))))
    assert RewardConfig().version == CONFIG.version == reordered.version
    assert CONFIG.version.startswith("r1-")


@pytest.mark.parametrize(
    "overrides",
    [
        {"deletion_penalty": 0.8},
        {"deletion_decay_days": 4.0},
        {"window_hours": 48},
        {"max_wait_hours": 72.0},
        {"default_reward": 0.0},
        {"slot_weights": {6: 0.4, 24: 0.258, 48: 0.168, 72: 0.109, 168: 0.071}},
        {"engagement_weights": {**CONFIG.engagement_weights, "instagram": {"likes": 0.5, "saves": 3.0}}},
    ],
)
def test_the_version_changes_when_a_constant_changes(overrides):
    assert RewardConfig(**overrides).version != CONFIG.version


_EW = CONFIG.engagement_weights


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"engagement_weights": {"instagram": {"likes": 1.0}}}, id="platform-missing"),
        pytest.param({"engagement_weights": {**_EW, "tiktok": {"likes": 1.0}}}, id="unknown-platform"),
        pytest.param({"engagement_weights": {**_EW, "x": {"views": 1.0}}}, id="unknown-counter"),
        pytest.param({"engagement_weights": {**_EW, "x": {"likes": -1.0}}}, id="negative-weight"),
        pytest.param({"engagement_weights": {**_EW, "x": {"likes": math.nan}}}, id="nan-weight"),
        pytest.param({"slot_weights": {}}, id="no-slots"),
        pytest.param({"slot_weights": {6: 0.0, 24: 1.0}}, id="zero-slot-weight"),
        pytest.param({"slot_weights": {6: math.inf}}, id="infinite-slot-weight"),
        pytest.param({"window_hours": 5}, id="window-before-first-slot"),
        pytest.param({"window_hours": -24}, id="negative-window"),
        pytest.param({"max_wait_hours": 12.0}, id="max-wait-shorter-than-window"),
        pytest.param({"max_wait_hours": math.nan}, id="max-wait-nan"),
        pytest.param({"deletion_penalty": -0.1}, id="negative-penalty"),
        pytest.param({"deletion_penalty": math.nan}, id="nan-penalty"),
        pytest.param({"deletion_decay_days": 0.0}, id="zero-decay"),
        pytest.param({"deletion_decay_days": math.nan}, id="nan-decay"),
        pytest.param({"default_reward": 1.5}, id="default-reward-above-one"),
        pytest.param({"default_reward": math.nan}, id="default-reward-nan"),
    ],
)
def test_invalid_reward_configurations_are_rejected(overrides):
    with pytest.raises(ValueError):
        RewardConfig(**overrides)
