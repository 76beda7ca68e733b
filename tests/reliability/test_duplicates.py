"""docs/spec.md §7, duplicate delivery: 16 concurrent deliveries of the same task or snapshot
have exactly one effect, round after round.

update_policy: one ledger row, version +1, H and θ equal to one application.
compute_reward: one fold into the baseline, one update task.
record_snapshot: one snapshot row, one reward, one fold (metrics and webhook alike).
After every round the whole database passes the independent checks.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from tests.reliability import scale
from tests.reliability.checks import violations
from tests.reliability.helpers import concurrently, metrics_body, published_post, settled_posts
from tests.support.database import table_counts
from tests.support.functions import fetch_one, policy_version

DELIVERIES = 16


def test_sixteen_concurrent_update_policy_deliveries_apply_one_step_every_round(
    runtime, functions, make_profile, clock
):
    business = make_profile()
    applied_total = 0
    for round_ in range(scale.DUPLICATE_ROUNDS):
        (post,) = settled_posts(functions, clock, business, f"up{round_}", 1)
        version = policy_version(runtime)
        results = concurrently([partial(functions.post, "update_policy", {"post_id": post})] * DELIVERIES)
        assert [s for s, _ in results] == [200] * DELIVERIES
        applied = [a["applied"] for _, a in results]
        assert applied.count(True) == 1, applied
        assert {a["version"] for _, a in results} == {version + 1}
        assert policy_version(runtime) == version + 1
        assert fetch_one(runtime, "select count(*) from policy_updates where post_id = %s", post)[0] == 1
        assert violations(runtime) == []
        applied_total += 1
    assert policy_version(runtime) == applied_total
    scale.record("duplicates.update_policy", rounds=scale.DUPLICATE_ROUNDS, deliveries=DELIVERIES, violations=0)


def test_sixteen_concurrent_compute_reward_deliveries_fold_one_reward_every_round(
    runtime, functions, make_profile, clock
):
    business = make_profile()
    for round_ in range(scale.DUPLICATE_ROUNDS):
        start = clock.now()
        post = published_post(functions, business, f"cr{round_}")
        clock.set(start + timedelta(hours=6))
        status, _ = functions.post("record_snapshot", metrics_body(post, start + timedelta(hours=6), likes=30 + round_))
        assert status == 200
        clock.set(start + timedelta(hours=48))  # due and past the wait: the 6 h snapshot alone decides
        before = table_counts(runtime)
        results = concurrently([partial(functions.post, "compute_reward", {"post_id": post})] * DELIVERIES)
        assert [s for s, _ in results] == [200] * DELIVERIES
        outcomes = sorted(a["outcome"] for _, a in results)
        assert outcomes == ["computed"] + ["final"] * (DELIVERIES - 1), outcomes
        assert len({a["value"] for _, a in results}) == 1
        after = table_counts(runtime)
        assert after["baseline_n"] == before["baseline_n"] + 1
        assert after["outbox"] == before["outbox"] + 1  # the one update_policy task
        assert violations(runtime) == []
    scale.record("duplicates.compute_reward", rounds=scale.DUPLICATE_ROUNDS, deliveries=DELIVERIES, violations=0)


def test_sixteen_concurrent_deliveries_of_one_snapshot_store_it_once_every_round(
    runtime, functions, make_profile, clock
):
    business = make_profile()
    for round_ in range(scale.DUPLICATE_ROUNDS):
        start = clock.now()
        post = published_post(functions, business, f"sn{round_}")
        clock.set(start + timedelta(hours=24))
        before = table_counts(runtime)
        body = metrics_body(post, start + timedelta(hours=24), likes=50 + round_, comments=3)
        results = concurrently([partial(functions.post, "record_snapshot", body)] * DELIVERIES)
        assert [s for s, _ in results] == [200] * DELIVERIES
        assert sorted(a["changed"] for _, a in results) == [False] * (DELIVERIES - 1) + [True]
        after = table_counts(runtime)
        assert after["snapshots"] == before["snapshots"] + 1
        assert after["baseline_n"] == before["baseline_n"] + 1
        assert fetch_one(runtime, "select status from rewards where post_id = %s", post)[0] == "computed"
        assert violations(runtime) == []
    scale.record("duplicates.record_snapshot", rounds=scale.DUPLICATE_ROUNDS, deliveries=DELIVERIES, violations=0)


def test_sixteen_concurrent_webhooks_of_one_inserted_snapshot_process_it_once_every_round(
    runtime, functions, make_profile, clock
):
    business = make_profile()
    for round_ in range(scale.DUPLICATE_ROUNDS):
        start = clock.now()
        post = published_post(functions, business, f"wh{round_}")
        clock.set(start + timedelta(hours=24))
        with runtime.db.transaction() as conn:  # what the metrics collector does on Supabase
            row = conn.execute(
                "insert into snapshots (post_id, observed_at, likes, comments) values (%s, %s, %s, 2)"
                " returning snapshot_id",
                (post, start + timedelta(hours=24), 40 + round_),
            ).fetchone()
        assert row is not None
        note = {"type": "INSERT", "table": "snapshots", "schema": "public"}
        note["record"] = {"snapshot_id": row[0], "post_id": post}  # type: ignore[assignment]
        before = table_counts(runtime)
        results = concurrently([partial(functions.post, "record_snapshot", note)] * DELIVERIES)
        assert [s for s, _ in results] == [200] * DELIVERIES
        assert sorted(a["changed"] for _, a in results) == [False] * (DELIVERIES - 1) + [True]
        assert table_counts(runtime)["baseline_n"] == before["baseline_n"] + 1
        assert violations(runtime) == []
    scale.record("duplicates.webhook", rounds=scale.DUPLICATE_ROUNDS, deliveries=DELIVERIES, violations=0)
