"""What one tenant can feed the shared learner with only her own token (docs/reliability.md,
"Tenants"): every fabricated input of the takeover scenario is refused with a 4xx naming
its field and changing nothing, or bounded; and no business sends more than its hourly
share of posts and snapshots."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.tasks.local import LocalTaskRunner
from tests.support.database import table_counts
from tests.support.functions import at, embedding, error_paths, generate, metrics, publish, reward_row, state_digest

EPOCH = datetime(1970, 1, 1, 12, 0, tzinfo=UTC)
FOLLOWERS = {"instagram": 2000, "x": 2000, "linkedin": 2000, "facebook": 2000}


def _refused(runtime: Any, functions: Any, target: str, body: dict[str, Any], field: str, status: int = 400) -> None:
    digest = state_digest(runtime)
    got, answer = functions.post(target, body)
    assert (got, error_paths(answer)) == (status, [field]), answer
    assert state_digest(runtime) == digest


def test_the_takeover_scenarios_inputs_are_refused_or_bounded(runtime, functions, make_profile, clock):
    mallory = str(make_profile(follower_counts=FOLLOWERS))
    # Backdated through auto_publish: a post published before it existed would be due at once.
    backdated = {"business_id": mallory, "request_id": "old", "platform": "x", "topic": "t", "auto_publish": True}
    _refused(runtime, functions, "generate_post", backdated | {"scheduled_for": EPOCH.isoformat()}, "scheduled_for")
    made = [generate(functions, mallory, f"m{i}", "x", topic_embedding=embedding(i))["post_id"] for i in range(3)]
    inflated, gone, falling = made
    for post_id in made:
        body = {"type": "published", "post_id": post_id, "media_id": f"m-{post_id}"}
        _refused(runtime, functions, "record_snapshot", body | {"posted_at": EPOCH.isoformat()}, "posted_at")
        publish(functions, post_id, at(0))
    clock.set(at(2))
    deletion = {"type": "deleted", "post_id": gone, "deleted_at": at(2).isoformat()}
    assert functions.post("record_snapshot", deletion)[0] == 200
    clock.set(at(24.1))
    observed = at(24.1).isoformat()
    after_deletion = {"type": "metrics", "post_id": gone, "observed_at": observed, "likes": 10**12}
    _refused(runtime, functions, "record_snapshot", after_deletion, "observed_at")
    metrics(functions, falling, at(6), likes=500)
    _refused(runtime, functions, "record_snapshot", {"type": "metrics", "post_id": falling, "observed_at": observed}
             | {"likes": 10}, "likes")  # fmt: skip
    # Accepted but bounded: the follower count is capped at a quarter of the profile's (and kept
    # as reported), and no count of likes takes a reward past 1.
    metrics(functions, inflated, at(24.1), likes=10**12, follower_count=0)
    row = reward_row(runtime, inflated)
    assert (row["components"]["followers"], row["components"]["followers_reported"]) == (500, 0)
    assert row["value"] == pytest.approx(math.tanh(math.log1p(10**12) / math.log1p(500))) and row["value"] <= 1.0
    LocalTaskRunner(runtime.db, functions.invoke).run_due(clock.now())
    assert reward_row(runtime, gone)["components"]["slots_used"] == []  # nothing observed after the deletion


def test_generation_past_the_hourly_limit_is_a_429_with_retry_after_that_writes_nothing(
    runtime, functions, make_profile, clock, monkeypatch
):
    monkeypatch.setattr(runtime, "limits", replace(runtime.limits, posts_per_hour=3))
    business, other = str(make_profile()), str(make_profile(seed=1))
    clock.set(at(0.5))  # 09:30: the window is 09:00-10:00
    first = [generate(functions, business, f"r{i}", "x") for i in range(3)]
    counts = table_counts(runtime)
    body = {"business_id": business, "request_id": "r3", "platform": "x", "topic": "t"}
    answer = functions.response("generate_post", body)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == str(30 * 60)
    assert answer.get_json()["error"]["code"] == "rate_limited" and error_paths(answer.get_json()) == ["business_id"]
    assert table_counts(runtime) == counts
    # A redelivery is answered as before; another business has its own allowance.
    assert generate(functions, business, "r0", "x", expect=(200,))["post_id"] == first[0]["post_id"]
    generate(functions, other, "o0", "x")
    clock.set(at(1))  # the next window
    generate(functions, business, "r3", "x")


def test_snapshots_past_the_hourly_limit_are_429s_and_redeliveries_do_not_count(
    runtime, functions, make_profile, clock, monkeypatch
):
    monkeypatch.setattr(runtime, "limits", replace(runtime.limits, snapshots_per_hour=2))
    business = make_profile()
    post_id = generate(functions, business, "p", "instagram", auto_publish=True)["post_id"]
    clock.set(at(6))
    metrics(functions, post_id, at(1), likes=1)
    metrics(functions, post_id, at(2), likes=2)
    assert metrics(functions, post_id, at(2), likes=2)["changed"] is False  # a redelivery, not counted
    third = {"type": "metrics", "post_id": post_id, "observed_at": at(3).isoformat(), "likes": 3}
    _refused(runtime, functions, "record_snapshot", third, "post_id", 429)
    clock.set(at(7))
    metrics(functions, post_id, at(3), likes=3)
    with runtime.db.transaction() as conn:  # one counter per business: the earlier hour's went
        left = conn.execute("select window_start, snapshots from business_rates").fetchall()
    assert left == [(at(7), 1)]
