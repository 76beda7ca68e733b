"""Row-level security in real Postgres (switching roles), and the Supabase
Database Webhook path: a snapshot inserted straight into the table."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from tests.support.functions import at, compute, generate, metrics, publish, reward_row


def _as_user(runtime, user: uuid.UUID, sql: str):
    with runtime.db.transaction() as conn:
        conn.execute("set local role authenticated")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps({"sub": str(user)}),))
        return conn.execute(sql).fetchall()


def test_each_user_reads_only_their_own_businesses_rows(runtime, functions, make_profile, clock):
    alice, bob = uuid.uuid4(), uuid.uuid4()
    posts = {}
    for owner, seed in ((alice, 1), (bob, 2)):
        business = make_profile(owner_id=owner, seed=seed)
        post = generate(functions, business, f"rls-{seed}", "linkedin", scheduled_for=at(0).isoformat())
        publish(functions, post["post_id"], at(0))
        posts[owner] = post["post_id"]
    clock.set(at(6))
    for post_id in posts.values():
        metrics(functions, post_id, at(6), likes=10, comments=2)

    for owner, other in ((alice, bob), (bob, alice)):
        for table in ("posts", "decisions", "snapshots", "rewards"):
            rows = _as_user(runtime, owner, f"select post_id::text from {table}")
            assert {r[0] for r in rows} == {posts[owner]}, table
            assert posts[other] not in {r[0] for r in rows}
        assert len(_as_user(runtime, owner, "select * from profiles")) == 1
    # Without claims, nothing at all.
    with runtime.db.transaction() as conn:
        conn.execute("set local role authenticated")
        assert conn.execute("select count(*) from posts").fetchone() == (0,)


SERVICE_ONLY = [
    "policy_preferences",
    "policy_theta",
    "policy_baselines",
    "policy_state",
    "policy_updates",
    "outbox",
    "policy_snapshots",
    "policy_snapshot_preferences",
    "policy_snapshot_theta",
    "policy_snapshot_baselines",
    "policy_snapshot_arrays",
    "learner_arrays",
    "learner_statistics",
    "policy_lifecycle",
    "context_normalisers",
]


@pytest.mark.parametrize("table", SERVICE_ONLY)
def test_policy_tables_are_service_only(runtime, table):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as_user(runtime, uuid.uuid4(), f"select * from {table}")
    # On Supabase signed-in users are granted tables by default: RLS without a policy still shows nothing.
    with runtime.db.transaction() as conn:
        secured = conn.execute("select relrowsecurity from pg_class where relname = %s", (table,)).fetchone()
        policies = conn.execute("select count(*) from pg_policies where tablename = %s", (table,)).fetchone()
    assert secured == (True,) and policies == (0,)


def _insert_directly(runtime, post_id: str, hours: float, **counters: int) -> int:
    """What the metrics collector does on Supabase: insert the row, no function call."""
    with runtime.db.transaction() as conn:
        row = conn.execute(
            "insert into snapshots (post_id, observed_at, likes, comments, follower_count)"
            " values (%s, %s, %s, %s, 8000) returning snapshot_id",
            (post_id, at(hours), counters.get("likes", 0), counters.get("comments", 0)),
        ).fetchone()
    return int(row[0])


def _notify(functions, snapshot_id: int, post_id: str):
    return functions.post(
        "record_snapshot",
        {
            "type": "INSERT",
            "table": "snapshots",
            "schema": "public",
            "record": {"snapshot_id": snapshot_id, "post_id": post_id, "likes": 1, "extra_column": "ignored"},
            "old_record": None,
        },
    )


def test_a_webhook_notification_settles_the_reward_once(runtime, functions, make_profile, clock):
    business = make_profile()
    post = generate(functions, business, "wh-1", "linkedin", scheduled_for=at(0).isoformat(), auto_publish=True)
    clock.set(at(6))
    first = _insert_directly(runtime, post["post_id"], 6, likes=50, comments=4)
    status, answer = _notify(functions, first, post["post_id"])
    assert status == 200 and answer["changed"] is True and answer["reward"] == "not_due"
    clock.set(at(24))
    second = _insert_directly(runtime, post["post_id"], 24, likes=120, comments=9)
    status, answer = _notify(functions, second, post["post_id"])
    assert status == 200 and answer["reward"] == "computed"
    value = reward_row(runtime, post["post_id"])["value"]
    # Redelivery of the webhook: nothing changes.
    status, answer = _notify(functions, second, post["post_id"])
    assert status == 200 and answer["changed"] is False
    assert reward_row(runtime, post["post_id"])["value"] == value


def test_the_sweep_catches_snapshots_whose_webhook_was_lost(runtime, functions, make_profile, clock):
    business = make_profile()
    post = generate(functions, business, "wh-2", "x", scheduled_for=at(0).isoformat(), auto_publish=True)
    clock.set(at(25))
    _insert_directly(runtime, post["post_id"], 6, likes=30)
    _insert_directly(runtime, post["post_id"], 24, likes=90)
    report = compute(functions, {"sweep": True})
    # Processing the 24 h snapshot completes the due reward there and then.
    assert report["snapshots"] == 2
    assert reward_row(runtime, post["post_id"])["status"] == "computed"
    with runtime.db.transaction() as conn:
        assert conn.execute("select count(*) from snapshots where processed_at is null").fetchone() == (0,)
    assert compute(functions, {"sweep": True})["snapshots"] == 0


def test_a_scheduler_run_delivered_twice_sweeps_once(runtime, functions):
    headers = {"X-CloudScheduler-JobName": "sweep-rewards", "X-CloudScheduler-ScheduleTime": "2026-03-02T09:15:00Z"}
    status, first = functions.post("compute_reward", {"sweep": True}, headers)
    assert status == 200 and first["duplicate"] is False
    status, again = functions.post("compute_reward", {"sweep": True}, headers)
    assert status == 200 and again["duplicate"] is True
    with runtime.db.transaction() as conn:
        assert conn.execute("select count(*) from sweep_runs where report is not null").fetchone() == (1,)


@pytest.mark.parametrize(
    ("job", "when", "field"),
    [
        ("sweep\u0000rewards", "2026-03-02T09:15:00Z", "X-CloudScheduler-JobName"),  # was a 500: text refuses NUL
        ("", "2026-03-02T09:15:00Z", "X-CloudScheduler-JobName"),
        ("sweep-rewards", "0001-01-01T00:00:00+14:00", "X-CloudScheduler-ScheduleTime"),  # was stored as 1 BC
        ("sweep-rewards", "9999-12-31T23:59:59-14:00", "X-CloudScheduler-ScheduleTime"),
        ("sweep-rewards", "1969-12-31T23:59:59Z", "X-CloudScheduler-ScheduleTime"),
        ("sweep-rewards", "2200-01-01T00:00:00Z", "X-CloudScheduler-ScheduleTime"),
        ("sweep-rewards", "2026-03-02T09:15:00\u0000Z", "X-CloudScheduler-ScheduleTime"),
    ],
    ids=["nul-job", "empty-job", "year-1", "year-9999", "before-1970", "year-2200", "nul-time"],
)
def test_scheduler_headers_outside_what_a_run_can_be_named_by_are_400_and_sweep_nothing(
    runtime, functions, make_profile, clock, job, when, field
):
    business = make_profile()
    post = generate(functions, business, "sched-bad", "x", scheduled_for=at(0).isoformat(), auto_publish=True)
    clock.set(at(49))  # past the maximum wait: a sweep would settle the reward
    headers = {"X-CloudScheduler-JobName": job, "X-CloudScheduler-ScheduleTime": when}
    runs = "select count(*) from sweep_runs"  # (not emptied between tests)
    with runtime.db.transaction() as conn:
        before = conn.execute(runs).fetchone()
    status, answer = functions.post("compute_reward", {"sweep": True}, headers)
    assert status == 400, answer
    assert [f["path"] for f in answer["error"]["fields"]] == [field]
    assert reward_row(runtime, post["post_id"])["status"] == "pending"
    with runtime.db.transaction() as conn:
        assert conn.execute(runs).fetchone() == before
