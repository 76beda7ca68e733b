"""docs/spec.md §5–§6: when a reward is computed, from which snapshots, and what the
policy update then does with the decision's logged context and probabilities.
"""

from __future__ import annotations

import math
from uuid import UUID

import numpy as np
import pytest

from shared.core.profile import Profile
from shared.store.profiles import upsert_profile
from tests.support.database import table_counts
from tests.support.functions import (
    ALPHA_H,
    ALPHA_THETA,
    at,
    baseline,
    compute,
    decision_of,
    embedding,
    engagement,
    error_paths,
    expected_reward,
    fetch_all,
    generate,
    metrics,
    outbox_rows,
    preferences,
    publish,
    reward_row,
    state_digest,
    thetas,
)

C6 = {"likes": 120, "comments": 9, "shares": 4, "saves": 6}
C24 = {"likes": 300, "comments": 20, "shares": 11, "saves": 15}


@pytest.fixture
def posted(runtime, functions, make_profile):
    """An Instagram post published at START (profile: 5000 Instagram followers)."""
    bid = make_profile()
    return generate(functions, bid, "ig-1", "instagram", topic_embedding=embedding(7), auto_publish=True)["post_id"]


def rewards_state_of(digest: dict[str, str]) -> dict[str, str]:
    # The sweep also stores the dashboard's first typical context of the new post's cell.
    return {t: d for t, d in digest.items() if t != "typical_contexts"}


def rewards_state(rt) -> dict[str, str]:
    return rewards_state_of(state_digest(rt))


def _updates(rt) -> int:
    return len([r for r in outbox_rows(rt) if r[1] == "update_policy"])


def test_the_reward_waits_for_the_24h_snapshot_and_its_arrival_computes_it(runtime, functions, posted, clock):
    clock.set(at(6))
    assert metrics(functions, posted, at(6), **C6)["reward"] == "not_due"
    clock.set(at(24))
    digest = state_digest(runtime)
    assert compute(functions, {"post_id": posted}) == {"post_id": posted, "outcome": "waiting", "value": None}
    assert compute(functions, {"sweep": True})["waiting"] == 1
    assert rewards_state(runtime) == rewards_state_of(digest)
    assert reward_row(runtime, posted)["status"] == "pending"

    clock.set(at(25))
    answer = metrics(functions, posted, at(24.5), follower_count=5200, **C24)  # slot inferred: 24
    assert answer["reward"] == "computed"
    row = reward_row(runtime, posted)
    expected = expected_reward("instagram", {6: C6, 24: C24}, followers=5200)
    assert row["status"] == "computed"
    assert row["value"] == pytest.approx(expected, rel=1e-9)
    assert row["components"]["slots_used"] == [6, 24]
    assert row["components"]["followers"] == 5200
    assert row["components"]["penalty"] == 0
    assert (row["baseline_before"], row["baseline_after"]) == (0, pytest.approx(0.1 * expected))
    b, n = baseline(runtime, "instagram")
    assert b == pytest.approx(0.1 * expected)
    assert n == 1
    assert _updates(runtime) == 1


def test_a_reward_is_not_computed_before_it_is_due(runtime, functions, posted, clock):
    clock.set(at(23.9))
    metrics(functions, posted, at(6), timeslot_hours=6, **C6)
    metrics(functions, posted, at(23.9), timeslot_hours=24, **C24)
    digest = state_digest(runtime)
    assert compute(functions, {"post_id": posted})["outcome"] == "not_due"
    assert compute(functions, {"sweep": True})["examined"] == 0
    assert rewards_state(runtime) == rewards_state_of(digest)
    clock.set(at(24))
    assert compute(functions, {"post_id": posted})["outcome"] == "computed"


def test_the_sweep_finalises_at_the_max_wait_with_only_the_6h_snapshot(runtime, functions, posted, clock):
    clock.set(at(6))
    metrics(functions, posted, at(6), **C6)
    clock.set(at(47.9))
    assert _counts(compute(functions, {"sweep": True})) == {"examined": 1, "computed": 0, "missing": 0, "waiting": 1}
    clock.set(at(48))
    assert _counts(compute(functions, {"sweep": True})) == {"examined": 1, "computed": 1, "missing": 0, "waiting": 0}
    row = reward_row(runtime, posted)
    assert row["components"]["slots_used"] == [6]
    assert row["components"]["engagement"] == pytest.approx(engagement("instagram", C6))  # R = E6
    assert row["components"]["followers"] == 5000  # no follower_count given: the profile's
    assert row["value"] == pytest.approx(expected_reward("instagram", {6: C6}, followers=5000))
    assert _updates(runtime) == 1


def test_the_sweep_marks_a_reward_missing_when_no_snapshot_arrived(runtime, functions, posted, clock):
    status, answer = functions.post("update_policy", {"post_id": posted})  # pending: not final yet
    assert (status, answer["error"]["message"]) == (409, "the reward of this post is not final yet"), answer
    clock.set(at(48))
    assert compute(functions, {"sweep": True})["missing"] == 1
    row = reward_row(runtime, posted)
    assert (row["status"], row["value"], row["baseline_before"]) == ("missing", None, None)
    assert _updates(runtime) == 0
    assert baseline(runtime, "instagram") == (0, 0)
    digest = state_digest(runtime)
    status, answer = functions.post("update_policy", {"post_id": posted})
    assert (status, answer["applied"], answer["reason"], answer["version"]) == (200, False, "missing", 0), answer
    assert answer["message"].startswith("nothing to learn: the reward is missing")
    assert state_digest(runtime) == digest


def test_snapshots_after_the_reward_is_final_are_stored_late_and_change_nothing(runtime, functions, posted, clock):
    clock.set(at(6))
    metrics(functions, posted, at(6), **C6)
    clock.set(at(48))
    compute(functions, {"sweep": True})
    before = reward_row(runtime, posted)
    clock.set(at(49))
    # A 24 h snapshot now would raise R if it counted; it arrives too late.
    late24 = metrics(functions, posted, at(24), timeslot_hours=24, **C24)
    late48 = metrics(functions, posted, at(48.5), likes=900)
    assert (late24["late"], late48["late"]) == (True, True)
    assert (late24["reward"], late48["reward"]) == (None, None)
    assert reward_row(runtime, posted) == before
    assert baseline(runtime, "instagram")[1] == 1
    assert fetch_all(runtime, "select observed_at, late from snapshots order by observed_at") == [
        (at(6), False),
        (at(24), True),
        (at(48.5), True),
    ]


def test_a_snapshot_after_a_missing_reward_is_late_and_leaves_it_missing(runtime, functions, posted, clock):
    clock.set(at(48))
    compute(functions, {"sweep": True})
    clock.set(at(50))
    assert metrics(functions, posted, at(24), timeslot_hours=24, **C24)["late"] is True
    assert reward_row(runtime, posted)["status"] == "missing"
    assert _updates(runtime) == 0


def test_observations_outside_the_window_slots_carry_no_weight(runtime, functions, posted, clock):
    # Cumulative counters (a report may not fall below an earlier one), far from C6 and C24.
    later = {"likes": 290, "comments": 19, "shares": 10, "saves": 14}
    earlier = {"likes": 20, "comments": 1, "shares": 1, "saves": 1}
    clock.set(at(23))
    metrics(functions, posted, at(8), **later)  # slot 6, but not the earliest of slot 6
    metrics(functions, posted, at(3), **earlier)  # before the first slot
    metrics(functions, posted, at(6.5), **C6)  # slot 6: the earliest stands, whatever the arrival order
    clock.set(at(24))
    assert metrics(functions, posted, at(24), **C24)["reward"] == "computed"
    expected = expected_reward("instagram", {6: C6, 24: C24}, followers=5000)
    assert reward_row(runtime, posted)["value"] == pytest.approx(expected)
    assert reward_row(runtime, posted)["components"]["slots_used"] == [6, 24]
    assert fetch_all(runtime, "select count(*) from snapshots where not late") == [(4,)]


@pytest.mark.parametrize("deleted_after_hours", [2, 12, 23])
def test_a_deletion_before_the_reward_is_final_applies_the_penalty(
    runtime, functions, posted, clock, deleted_after_hours
):
    """A deleted post has no counters left to read: its snapshots observed after the
    deletion are refused (and change nothing); the reward settles when due, on what
    was observed before, less the penalty."""

    def snapshot_6h() -> None:
        if deleted_after_hours > 6:
            metrics(functions, posted, at(6), **C6)
            return
        body = {"type": "metrics", "post_id": posted, "observed_at": at(6).isoformat(), **C6}
        before = state_digest(runtime)
        status, answer = functions.post("record_snapshot", body)
        assert (status, error_paths(answer)) == (400, ["observed_at"]), answer
        assert state_digest(runtime) == before

    def deletion() -> None:
        body = {"type": "deleted", "post_id": posted, "deleted_at": at(deleted_after_hours).isoformat()}
        status, answer = functions.post("record_snapshot", body)
        assert (status, answer["changed"]) == (200, True)

    for hours, send in sorted([(6, snapshot_6h), (deleted_after_hours, deletion)], key=lambda e: e[0]):
        clock.set(at(hours))
        send()
    clock.set(at(24))
    late = {"type": "metrics", "post_id": posted, "observed_at": at(24).isoformat(), **C24}
    assert functions.post("record_snapshot", late)[0] == 400
    compute(functions, {"post_id": posted})
    row = reward_row(runtime, posted)
    days = deleted_after_hours / 24
    seen = {6: C6} if deleted_after_hours > 6 else {}
    assert row["components"]["penalty"] == pytest.approx(0.7 * math.exp(-days / 3))
    assert row["components"]["slots_used"] == sorted(seen)
    r_eng = expected_reward("instagram", seen, 5000) if seen else 0.0
    assert row["value"] == pytest.approx(max(r_eng - 0.7 * math.exp(-days / 3), -1.0))
    assert row["value"] == pytest.approx(row["components"]["r_eng"] - row["components"]["penalty"])
    assert fetch_all(runtime, "select status, deleted_at from posts") == [("deleted", at(deleted_after_hours))]


def test_a_deletion_dated_before_a_snapshot_that_saw_the_post_alive_is_refused(runtime, functions, posted, clock):
    clock.set(at(6))
    metrics(functions, posted, at(6), **C6)
    before = state_digest(runtime)
    body = {"type": "deleted", "post_id": posted, "deleted_at": at(3).isoformat()}
    status, answer = functions.post("record_snapshot", body)
    assert (status, error_paths(answer)) == (400, ["deleted_at"]), answer
    assert state_digest(runtime) == before


def test_a_post_deleted_before_any_snapshot_is_still_penalised(runtime, functions, posted, clock):
    """docs/spec.md §6: a deletion before the reward is final carries the penalty.

    A post deleted at 2 h never gets a 6 h snapshot (it is gone), so with no
    engagement (R = 0, r_eng = 0) the reward is −0.7·exp(−d/3); recording it
    as 'missing' would drop the strongest negative signal there is.
    """
    clock.set(at(2))
    body = {"type": "deleted", "post_id": posted, "deleted_at": at(2).isoformat()}
    assert functions.post("record_snapshot", body)[0] == 200
    clock.set(at(48))
    compute(functions, {"sweep": True})
    row = reward_row(runtime, posted)
    assert row["status"] == "computed"
    assert row["value"] == pytest.approx(-0.7 * math.exp(-(2 / 24) / 3))
    assert _updates(runtime) == 1


def test_a_deletion_after_the_reward_is_final_leaves_the_reward_alone(runtime, functions, posted, clock):
    clock.set(at(24))
    metrics(functions, posted, at(24), **C24)
    before = reward_row(runtime, posted)
    clock.set(at(30))
    status, _ = functions.post(
        "record_snapshot", {"type": "deleted", "post_id": posted, "deleted_at": at(30).isoformat()}
    )
    assert status == 200
    assert reward_row(runtime, posted) == before
    assert before["components"]["penalty"] == 0


def test_a_generated_post_that_is_never_published_is_never_rewarded(runtime, functions, make_profile, clock):
    bid = make_profile()
    post = generate(functions, bid, "draft", "facebook")["post_id"]
    for hours in (24, 48, 200):
        clock.set(at(hours))
        assert compute(functions, {"sweep": True})["examined"] == 0
    assert functions.post("compute_reward", {"post_id": post})[0] == 404
    assert functions.post("update_policy", {"post_id": post})[0] == 404
    counts = table_counts(runtime)
    assert (counts["rewards"], counts["outbox"], counts["policy_updates"], counts["version"]) == (0, 0, 0, 0)
    assert fetch_all(runtime, "select status from posts") == [("generated",)]


def test_the_update_uses_the_decisions_stored_x_and_logged_probabilities(
    runtime, gradient, functions, make_profile, clock
):
    business = np.random.default_rng(11).normal(size=384)
    bid = make_profile(embedding=business, time_zone="America/New_York")
    topic = embedding(12)
    # 20:00 UTC on a Monday is 15:00 in New York: the afternoon bucket.
    first = generate(functions, bid, "a", "x", topic_embedding=embedding(13), auto_publish=True)["post_id"]
    clock.set(at(11))
    answer = generate(functions, bid, "b", "x", topic_embedding=topic, scheduled_for=at(11).isoformat())
    assert (answer["time_bucket"], answer["day_of_week"]) == ("afternoon", 0)
    post = answer["post_id"]
    publish(functions, post, at(11))
    clock.set(at(24))
    metrics(functions, first, at(24), replies=5, reposts=3, likes=40)
    # The first post's update goes now, before the second reward is final (an update
    # applies every pending one in a group).
    assert functions.post("update_policy", {"post_id": first})[1]["version"] == 1
    clock.set(at(35))
    metrics(functions, post, at(35), replies=9, reposts=7, likes=80, follower_count=2100)

    decision = decision_of(runtime, post)
    topic_arr = np.asarray(topic)
    unit_x = np.concatenate([business / np.linalg.norm(business), topic_arr / np.linalg.norm(topic_arr)])
    assert np.allclose(decision["x"], unit_x)
    # The profile changes after the choice: the update must still use the stored x.
    with runtime.db.transaction() as conn:
        upsert_profile(conn, Profile(business_id=bid, name="Renamed", embedding=-business, time_zone="Asia/Tokyo"))

    reward = reward_row(runtime, post)
    advantage = reward["value"] - reward["baseline_before"]
    assert reward["baseline_before"] != 0  # the first post's reward moved the baseline
    h0, theta0 = preferences(runtime, "x", "afternoon"), thetas(runtime)
    others = fetch_all(runtime, "select * from policy_preferences where time_bucket <> 'afternoon'")
    status, out = functions.post("update_policy", {"post_id": post})
    assert (status, out["applied"], out["version"]) == (200, True, 2)
    assert out["advantage"] == pytest.approx(advantage)

    h = preferences(runtime, "x", "afternoon")
    theta = thetas(runtime)
    assert len(h) == len(theta) == sum(len(c["values"]) for c in decision["choices"]) == 18
    for choice in decision["choices"]:
        for value, pi0 in zip(choice["values"], choice["pi0"], strict=True):
            g = (1.0 if value == choice["chosen"] else 0.0) - pi0
            key = (choice["dimension"], value)
            assert h[key] - h0.get(key, 0.0) == pytest.approx(ALPHA_H * advantage * g, abs=1e-15)
            assert np.allclose(theta[key] - theta0[key], ALPHA_THETA * advantage * g * decision["x"])
    # Only the decision's own (platform, time bucket) moved.
    assert fetch_all(runtime, "select * from policy_preferences where time_bucket <> 'afternoon'") == others
    ledger = fetch_all(
        runtime, "select post_id, reward, advantage, version_after from policy_updates where version_after = 2"
    )
    assert ledger == [(UUID(post), reward["value"], pytest.approx(advantage), 2)]


def test_a_scheduled_post_published_late_starts_its_clock_at_posted_at(runtime, functions, make_profile, clock):
    bid = make_profile()
    post = generate(functions, bid, "s", "linkedin", scheduled_for=at(2).isoformat())["post_id"]
    clock.set(at(3))
    publish(functions, post, at(2.5))
    row = reward_row(runtime, post)
    assert (row["eligible_at"], row["finalize_by"]) == (at(26.5), at(50.5))
    assert outbox_rows(runtime) == [(f"compute_reward-{post}", "compute_reward", "pending")]


def _counts(report: dict[str, object]) -> dict[str, object]:
    return {k: report[k] for k in ("examined", "computed", "missing", "waiting")}


@pytest.mark.parametrize(("field", "value"), [("likes", 10), ("comments", 1)])
def test_a_counter_that_falls_is_refused_naming_it_and_changes_nothing(runtime, functions, posted, clock, field, value):
    clock.set(at(6))
    metrics(functions, posted, at(6), **C6)
    clock.set(at(24))
    before = state_digest(runtime)
    status, answer = functions.post(
        "record_snapshot",
        {"type": "metrics", "post_id": posted, "observed_at": at(24).isoformat(), **{**C24, field: value}},
    )
    assert status == 400 and error_paths(answer) == [field], answer
    assert state_digest(runtime) == before
    # A snapshot observed earlier may not report more than a later one either.
    status, answer = functions.post(
        "record_snapshot",
        {"type": "metrics", "post_id": posted, "observed_at": at(3).isoformat(), **{**C6, "likes": C6["likes"] * 10}},
    )
    assert status == 400 and error_paths(answer) == ["likes"], answer
    assert state_digest(runtime) == before
