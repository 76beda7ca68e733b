"""docs/spec.md §7: every delivery channel is at-least-once, every effect exactly-once.

Each function gets the same request twice (a redelivery) and, where it
matters, the same request from several threads at once.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier
from typing import Any

import numpy as np
import pytest

from tests.support.database import START, table_counts
from tests.support.functions import (
    at,
    baseline,
    compute,
    embedding,
    error_paths,
    expected_step,
    fetch_all,
    fetch_one,
    generate,
    metrics,
    outbox_rows,
    policy_version,
    preferences,
    publish,
    reward_row,
    state_digest,
    thetas,
)

THREADS = 8


def _concurrently(call, n: int = THREADS) -> list[Any]:
    """Run ``call()`` from ``n`` threads released together; return their results."""
    barrier = Barrier(n)

    def run(_: int):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@pytest.fixture
def settled(runtime, functions, make_profile, clock):
    """A post published at START whose reward was computed at 24 h (the update task is queued)."""
    bid = make_profile()
    post = generate(functions, bid, "r1", "linkedin", topic_embedding=embedding(3), auto_publish=True)["post_id"]
    clock.set(at(6))
    metrics(functions, post, at(6), likes=40, comments=3, follower_count=8000)
    clock.set(at(24))
    answer = metrics(functions, post, at(24), likes=90, comments=8, shares=2, follower_count=8010)
    assert answer["reward"] == "computed"
    return post


@pytest.fixture
def settled_many(runtime, functions, make_profile, clock):
    """``count`` posts on one platform and time bucket, published at START, rewards computed at 24 h."""

    def make(count: int) -> list[str]:
        bid = make_profile()
        posts = [
            generate(functions, bid, f"m{i}", "linkedin", topic_embedding=embedding(10 + i), auto_publish=True)
            for i in range(count)
        ]
        clock.set(at(24))
        for i, post in enumerate(posts):
            answer = metrics(functions, post["post_id"], at(24), likes=5 + 20 * i, comments=i, follower_count=8000)
            assert answer["reward"] == "computed"
        return [p["post_id"] for p in posts]

    return make


def test_generate_post_twice_with_one_request_id_is_one_post_answered_201_then_200(
    runtime, functions, make_profile, clock
):
    bid = make_profile()
    first = generate(functions, bid, "req-1", "instagram", topic_embedding=embedding(5))
    clock.advance(timedelta(minutes=3))
    second = generate(functions, bid, "req-1", "instagram", topic_embedding=embedding(5), expect=(200,))
    assert (first["created"], second["created"]) == (True, False)
    for key in ("post_id", "decision_id", "action", "probabilities", "joint_propensity", "seed", "time_bucket"):
        assert first[key] == second[key], key
    counts = table_counts(runtime)
    assert (counts["posts"], counts["decisions"], counts["rewards"], counts["outbox"]) == (1, 1, 0, 0)


@pytest.mark.parametrize(
    "change",
    [{"platform": "linkedin"}, {"topic": "another launch"}, {"scheduled_for": "2026-03-02T09:00:00+00:00"}],
)
def test_a_request_id_reused_with_another_body_is_a_conflict_that_changes_nothing(
    runtime, functions, make_profile, change
):
    bid = make_profile()
    body = {"business_id": str(bid), "request_id": "reused", "platform": "x", "topic": "AI"}
    body["scheduled_for"] = "2026-03-01T09:00:00+00:00"
    status, first = functions.post("generate_post", body)
    assert status == 201
    before = state_digest(runtime)
    status, answer = functions.post("generate_post", {**body, **change})
    assert status == 409 and error_paths(answer) == ["request_id"], answer
    assert first["post_id"] not in json.dumps(answer)
    assert state_digest(runtime) == before


def test_the_same_request_id_for_another_business_is_another_post(runtime, functions, make_profile):
    a, b = make_profile(seed=1), make_profile(seed=2)
    assert generate(functions, a, "same")["post_id"] != generate(functions, b, "same")["post_id"]
    assert table_counts(runtime)["posts"] == 2


def test_generate_post_with_auto_publish_twice_starts_one_reward_clock(runtime, functions, make_profile):
    bid = make_profile()
    first = generate(functions, bid, "auto", auto_publish=True)
    again = generate(functions, bid, "auto", auto_publish=True, expect=(200,))
    assert first["post_id"] == again["post_id"]
    assert again["status"] == "posted"
    assert outbox_rows(runtime) == [(f"compute_reward-{first['post_id']}", "compute_reward", "pending")]
    assert table_counts(runtime)["rewards"] == 1


def test_generate_post_from_eight_threads_with_one_request_id_is_one_post(runtime, functions, make_profile):
    bid = make_profile()
    body = {"business_id": str(bid), "request_id": "race", "platform": "x", "topic": "AI", "auto_publish": True}
    results = _concurrently(lambda: functions.post("generate_post", body))
    assert sorted(s for s, _ in results) == [200] * (THREADS - 1) + [201]
    assert len({a["post_id"] for _, a in results}) == 1
    assert len({str(a["action"]) for _, a in results}) == 1
    counts = table_counts(runtime)
    assert (counts["posts"], counts["decisions"], counts["rewards"], counts["outbox"]) == (1, 1, 1, 1)


def test_the_same_published_event_twice_makes_one_reward_and_one_task(runtime, functions, make_profile, clock):
    bid = make_profile()
    post = generate(functions, bid, "p")["post_id"]
    clock.set(at(1))
    first = publish(functions, post, at(0.5), media_id="m-1")
    second = publish(functions, post, at(0.5), media_id="m-1")
    assert (first["changed"], second["changed"]) == (True, False)
    assert outbox_rows(runtime) == [(f"compute_reward-{post}", "compute_reward", "pending")]
    assert table_counts(runtime)["rewards"] == 1
    assert reward_row(runtime, post)["eligible_at"] == at(24.5)


def test_the_same_published_event_in_another_time_zone_notation_is_a_redelivery(
    runtime, functions, make_profile, clock
):
    bid = make_profile()
    post = generate(functions, bid, "p")["post_id"]
    publish(functions, post, START, media_id="m-1")
    digest = state_digest(runtime)
    status, answer = functions.post(
        "record_snapshot",
        {"type": "published", "post_id": post, "media_id": "m-1", "posted_at": "2026-03-02T10:00:00+01:00"},
    )
    assert (status, answer["changed"]) == (200, False)
    assert state_digest(runtime) == digest


@pytest.mark.parametrize(
    ("media_id", "posted_at", "field"),
    [("m-2", START, "media_id"), ("m-1", at(0.25), "media_id"), ("m-2", at(0.25), "media_id")],
    ids=["another media_id", "another posted_at", "both different"],
)
def test_a_different_publish_of_a_published_post_is_a_conflict_that_changes_nothing(
    runtime, functions, make_profile, clock, media_id, posted_at, field
):
    bid = make_profile()
    post = generate(functions, bid, "p")["post_id"]
    publish(functions, post, START, media_id="m-1")
    clock.set(at(1))
    digest = state_digest(runtime)
    status, answer = functions.post(
        "record_snapshot",
        {"type": "published", "post_id": post, "media_id": media_id, "posted_at": posted_at.isoformat()},
    )
    assert status == 409, answer
    assert field in error_paths(answer)
    assert state_digest(runtime) == digest


def test_the_same_metrics_snapshot_twice_is_stored_once(runtime, functions, make_profile, clock):
    bid = make_profile()
    post = generate(functions, bid, "p", "instagram", auto_publish=True)["post_id"]
    clock.set(at(6))
    first = metrics(functions, post, at(6), likes=10, saves=2)
    digest = state_digest(runtime)
    second = metrics(functions, post, at(6), likes=10, saves=2)
    assert (first["changed"], second["changed"]) == (True, False)
    assert state_digest(runtime) == digest
    assert table_counts(runtime)["snapshots"] == 1


def test_metrics_from_eight_threads_store_one_snapshot_and_fold_one_reward(runtime, functions, make_profile, clock):
    bid = make_profile()
    post = generate(functions, bid, "p", "facebook", auto_publish=True)["post_id"]
    clock.set(at(24))
    body = {"type": "metrics", "post_id": post, "observed_at": at(24).isoformat(), "reactions": 30, "comments": 4}
    results = _concurrently(lambda: functions.post("record_snapshot", body))
    assert [s for s, _ in results] == [200] * THREADS
    assert sorted(a["changed"] for _, a in results) == [False] * (THREADS - 1) + [True]
    counts = table_counts(runtime)
    assert (counts["snapshots"], counts["baseline_n"]) == (1, 1)
    assert reward_row(runtime, post)["status"] == "computed"


def test_compute_reward_twice_folds_the_reward_into_the_baseline_once(runtime, functions, make_profile, clock):
    bid = make_profile()
    post = generate(functions, bid, "p", "x", auto_publish=True)["post_id"]
    clock.set(at(24))
    metrics(functions, post, at(6), replies=2, likes=30, follower_count=2000)
    clock.set(at(48))  # past the wait: computed from the 6 h snapshot alone
    first = compute(functions, {"post_id": post})
    b1, n1 = baseline(runtime, "x")
    digest = state_digest(runtime)
    second = compute(functions, {"post_id": post})
    assert (first["outcome"], second["outcome"]) == ("computed", "final")
    assert first["value"] == second["value"] != 0
    assert state_digest(runtime) == digest
    assert n1 == 1
    assert b1 == pytest.approx(0.1 * first["value"])
    assert [r[0] for r in outbox_rows(runtime)] == [f"compute_reward-{post}", f"update_policy-{post}"]


def test_compute_reward_from_seven_threads_and_a_sweep_at_once_folds_once(runtime, functions, make_profile, clock):
    bid = make_profile()
    post = generate(functions, bid, "p", "linkedin", auto_publish=True)["post_id"]
    clock.set(at(6))
    metrics(functions, post, at(6), likes=25, comments=2)
    clock.set(at(48))  # due and past the wait: whoever comes first computes it
    bodies = iter([{"sweep": True}] + [{"post_id": post}] * (THREADS - 1))
    results = _concurrently(lambda: functions.post("compute_reward", next(bodies)))
    assert [s for s, _ in results] == [200] * THREADS
    singles = [a["outcome"] for _, a in results if "outcome" in a]
    swept = [a["computed"] for _, a in results if "computed" in a]
    assert len(singles) == THREADS - 1 and len(swept) == 1
    assert singles.count("computed") + swept[0] == 1, (singles, swept)
    assert set(singles) <= {"computed", "final"}
    assert baseline(runtime, "linkedin")[1] == 1
    assert [r[1] for r in outbox_rows(runtime)].count("update_policy") == 1


def test_update_policy_twice_applies_one_step(runtime, gradient, functions, settled):
    dh, dtheta = expected_step(runtime, settled)
    status, first = functions.post("update_policy", {"post_id": settled})
    assert (status, first["applied"], first["version"], first["reason"]) == (200, True, 1, "applied")
    digest = state_digest(runtime)
    status, second = functions.post("update_policy", {"post_id": settled})
    assert (status, second["applied"], second["version"], second["reason"]) == (200, False, 1, "already_applied")
    assert first["message"].endswith("now at version 1")
    assert second["message"].startswith("already applied at version 1:")
    assert state_digest(runtime) == digest
    assert policy_version(runtime) == 1
    assert fetch_one(runtime, "select count(*) from policy_updates")[0] == 1
    decision = fetch_one(runtime, "select platform, time_bucket from decisions")
    h = preferences(runtime, *decision)
    assert h.keys() == dh.keys()
    assert np.allclose([h[k] for k in dh], [dh[k] for k in dh])
    theta = thetas(runtime)
    assert all(np.allclose(theta[k], dtheta[k]) for k in dtheta)


def test_update_policy_from_eight_threads_applies_one_step(runtime, gradient, functions, settled):
    dh, _ = expected_step(runtime, settled)
    results = _concurrently(lambda: functions.post("update_policy", {"post_id": settled}))
    assert [s for s, _ in results] == [200] * THREADS
    assert sorted(a["applied"] for _, a in results) == [False] * (THREADS - 1) + [True]
    assert {a["version"] for _, a in results} == {1}
    assert policy_version(runtime) == 1
    assert fetch_all(runtime, "select version_after from policy_updates") == [(1,)]
    h = preferences(runtime, "linkedin", "morning")
    assert np.allclose([h[k] for k in dh], [dh[k] for k in dh])


def test_concurrent_updates_of_different_posts_lose_no_update(runtime, gradient, functions, settled_many):
    posts = settled_many(count=THREADS)
    steps = [expected_step(runtime, p) for p in posts]
    it = iter(posts)
    results = _concurrently(lambda: functions.post("update_policy", {"post_id": next(it)}))
    # A delivery may find its update applied by another's group (applied: false); either
    # way every post got exactly one version of its own.
    assert all(s == 200 for s, _ in results)
    assert any(a["applied"] for _, a in results)
    assert sorted(a["version"] for _, a in results) == list(range(1, THREADS + 1))
    assert policy_version(runtime) == THREADS
    assert fetch_one(runtime, "select count(*), count(distinct version_after) from policy_updates") == (
        THREADS,
        THREADS,
    )
    h = preferences(runtime, "linkedin", "morning")
    for key in steps[0][0]:
        assert h[key] == pytest.approx(sum(dh[key] for dh, _ in steps), abs=1e-12)
    theta = thetas(runtime)
    for key in steps[0][1]:
        assert np.allclose(theta[key], sum(dt[key] for _, dt in steps))
