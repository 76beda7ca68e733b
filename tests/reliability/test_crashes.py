"""docs/spec.md §7, crash atomicity: the handler process is SIGKILLed at each fault point inside
each function's transaction(s), again and again. After every kill the database is
consistent (tests/reliability/checks.py: reward ⇔ outbox row, ledger ⇔ θ change, …);
a kill inside a transaction leaves every row as it was; one redelivery converges
(a second changes nothing).

The handler runs in a process of its own (tests/reliability/runner.py forks one
per request, against this test's database); the fault point kills it with
SIGKILL, as an instance dies. The same fault points, told to stall instead, let
the test terminate the handler's database connection mid-transaction: the
answer is then a 5xx (503 with Retry-After), never a 2xx.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from benchmarks.load import LlmStub
from shared.config import PROJECT_ROOT
from shared.faults import REACHED, RELEASE
from tests.reliability import scale
from tests.reliability.checks import violations
from tests.reliability.helpers import metrics_body, published_post, settled_posts
from tests.reliability.runner import APP_NAME, HandlerProcesses
from tests.support.cloud import free_port
from tests.support.functions import fetch_one, policy_version, state_digest

# A stalled handler waits for the test's release (a handshake); this only bounds a broken test.
STALL_SECONDS = 300.0
TERMINATE_WAIT_MS = 60_000


@pytest.fixture(scope="module")
def handlers(database_url: str) -> Iterator[HandlerProcesses]:
    procs = HandlerProcesses(database_url, {"LEARNER_FAULT_STALL_SECONDS": str(STALL_SECONDS)})
    yield procs
    procs.close()


@dataclass(frozen=True)
class Request:
    target: str
    body: dict[str, Any]
    headers: dict[str, str]
    expect: Callable[[Any, int, Any], None]  # (runtime, status, answer) after the redelivery


@dataclass(frozen=True)
class Scenario:
    fault: str
    setup: Callable[[Any, Any, Any, str], Request]  # (runtime, functions, clock, tag) → the request
    in_transaction: bool = True  # False: the point is after a commit (the effect stands, the answer is lost)


def _generate(auto_publish: bool, status: int) -> Callable[[Any, Any, Any, str], Request]:
    def setup(rt: Any, functions: Any, clock: Any, tag: str) -> Request:
        business = fetch_one(rt, "select business_id from profiles limit 1")[0]
        body = {
            "business_id": str(business),
            "request_id": f"gen-{tag}",
            "platform": "instagram",
            "topic": "crash-proof posting",
            "topic_embedding": [0.01 * (i % 7) for i in range(384)],
            "auto_publish": auto_publish,
        }

        def expect(rt: Any, got: int, answer: Any) -> None:
            assert got == status, answer
            posted = fetch_one(rt, "select status from posts where request_id = %s", f"gen-{tag}")[0]
            assert posted == ("posted" if auto_publish else "generated")

        return Request("generate_post", body, {}, expect)

    return setup


def _publish(rt: Any, functions: Any, clock: Any, tag: str) -> Request:
    business = fetch_one(rt, "select business_id from profiles limit 1")[0]
    status, answer = functions.post(
        "generate_post", {"business_id": str(business), "request_id": f"pub-{tag}", "platform": "x", "topic": "t"}
    )
    assert status == 201
    body = {
        "type": "published",
        "post_id": answer["post_id"],
        "media_id": f"m-{tag}",
        "posted_at": clock.now().isoformat(),
    }

    def expect(rt: Any, got: int, answer: Any) -> None:
        assert (got, answer["changed"]) == (200, True), answer
        assert fetch_one(rt, "select status from rewards where post_id = %s", body["post_id"])[0] == "pending"

    return Request("record_snapshot", body, {}, expect)


def _due_metrics(rt: Any, functions: Any, clock: Any, tag: str) -> Request:
    business = fetch_one(rt, "select business_id from profiles limit 1")[0]
    start = clock.now()
    post = published_post(functions, business, f"met-{tag}")
    clock.set(start + timedelta(hours=24))
    body = metrics_body(post, start + timedelta(hours=24), likes=80, comments=6)

    def expect(rt: Any, got: int, answer: Any) -> None:
        assert (got, answer["changed"], answer["reward"]) == (200, True, "computed"), answer

    return Request("record_snapshot", body, {}, expect)


def _due_task(outcome: str) -> Callable[[Any, Any, Any, str], Request]:
    def setup(rt: Any, functions: Any, clock: Any, tag: str) -> Request:
        business = fetch_one(rt, "select business_id from profiles limit 1")[0]
        start = clock.now()
        post = published_post(functions, business, f"task-{tag}")
        clock.set(start + timedelta(hours=6))
        assert functions.post("record_snapshot", metrics_body(post, start + timedelta(hours=6), likes=33))[0] == 200
        clock.set(start + timedelta(hours=48))

        def expect(rt: Any, got: int, answer: Any) -> None:
            assert (got, answer["outcome"]) == (200, outcome), answer

        return Request("compute_reward", {"post_id": post}, {}, expect)

    return setup


def _webhook(rt: Any, functions: Any, clock: Any, tag: str) -> Request:
    business = fetch_one(rt, "select business_id from profiles limit 1")[0]
    start = clock.now()
    post = published_post(functions, business, f"wh-{tag}")
    clock.set(start + timedelta(hours=24))
    with rt.db.transaction() as conn:
        row = conn.execute(
            "insert into snapshots (post_id, observed_at, likes) values (%s, %s, 70) returning snapshot_id",
            (post, start + timedelta(hours=24)),
        ).fetchone()
    body = {
        "type": "INSERT",
        "table": "snapshots",
        "schema": "public",
        "record": {"snapshot_id": row[0], "post_id": post},
    }

    def expect(rt: Any, got: int, answer: Any) -> None:
        assert (got, answer["changed"], answer["reward"]) == (200, True, "computed"), answer

    return Request("record_snapshot", body, {}, expect)


def _update(applied: bool) -> Callable[[Any, Any, Any, str], Request]:
    def setup(rt: Any, functions: Any, clock: Any, tag: str) -> Request:
        business = fetch_one(rt, "select business_id from profiles limit 1")[0]
        (post,) = settled_posts(functions, clock, business, f"upd-{tag}", 1)
        version = policy_version(rt)

        def expect(rt: Any, got: int, answer: Any) -> None:
            assert (got, answer["applied"], answer["version"]) == (200, applied, version + 1), answer
            assert policy_version(rt) == version + 1

        return Request("update_policy", {"post_id": post}, {}, expect)

    return setup


def _scheduler_headers(clock: Any) -> dict[str, str]:
    """A run of its own: sweep_runs outlives the per-test reset, and every test starts its clock at START."""
    job = f"learner-sweep-{uuid.uuid4().hex[:8]}"
    return {"X-CloudScheduler-JobName": job, "X-CloudScheduler-ScheduleTime": clock.now().isoformat()}


def _sweep(rt: Any, functions: Any, clock: Any, tag: str) -> Request:
    business = fetch_one(rt, "select business_id from profiles limit 1")[0]
    start = clock.now()
    posts = [published_post(functions, business, f"sw-{tag}-{i}") for i in range(3)]
    clock.set(start + timedelta(hours=6))
    for post in posts:
        assert functions.post("record_snapshot", metrics_body(post, start + timedelta(hours=6), likes=20))[0] == 200
    clock.set(start + timedelta(hours=48))
    headers = _scheduler_headers(clock)

    def expect(rt: Any, got: int, answer: Any) -> None:
        assert (got, answer["duplicate"], answer["computed"]) == (200, False, 3), answer

    return Request("compute_reward", {"sweep": True}, headers, expect)


def _update_group(rt: Any, functions: Any, clock: Any, tag: str) -> Request:
    """Three final rewards wait; one delivery applies them as one group (one version lock)."""
    business = fetch_one(rt, "select business_id from profiles limit 1")[0]
    posts = settled_posts(functions, clock, business, f"grp-{tag}", 3)
    version = policy_version(rt)

    def expect(rt: Any, got: int, answer: Any) -> None:
        assert (got, answer["applied"], answer["version"]) == (200, True, version + 1), answer
        assert policy_version(rt) == version + 3  # the group: every pending reward, one version each
        assert fetch_one(rt, "select count(*) from policy_updates where post_id = any(%s::uuid[])", posts) == (3,)

    return Request("update_policy", {"post_id": posts[0]}, {}, expect)


def _sweep_lost_webhooks(rt: Any, functions: Any, clock: Any, tag: str) -> Request:
    """Three due posts whose 24 h snapshots were inserted directly (their webhooks lost): the
    sweep's catch-up processes them in one batch, which settles their rewards."""
    business = fetch_one(rt, "select business_id from profiles limit 1")[0]
    start = clock.now()
    posts = [published_post(functions, business, f"lost-{tag}-{i}") for i in range(3)]
    clock.set(start + timedelta(hours=24))
    with rt.db.transaction() as conn:
        for i, post in enumerate(posts):
            conn.execute(
                "insert into snapshots (post_id, observed_at, likes) values (%s, %s, %s)",
                (post, start + timedelta(hours=24), 40 + i),
            )
    headers = _scheduler_headers(clock)

    def expect(rt: Any, got: int, answer: Any) -> None:
        assert (got, answer["duplicate"], answer["snapshots"]) == (200, False, 3), answer
        assert fetch_one(
            rt, "select count(*) from rewards where post_id = any(%s::uuid[]) and status = 'computed'", posts
        ) == (3,)

    return Request("compute_reward", {"sweep": True}, headers, expect)


SCENARIOS = [
    # Without auto_publish the post and decision are one statement: no point inside it.
    Scenario("generate_post.after_insert", _generate(True, 201)),
    Scenario("generate_post.after_publish", _generate(True, 201)),
    Scenario("generate_post.after_commit", _generate(True, 200), in_transaction=False),
    Scenario("record_snapshot.after_publish", _publish),
    Scenario("record_snapshot.after_snapshot", _due_metrics),
    Scenario("settle.after_rewards", _due_metrics),
    Scenario("settle.after_baseline", _due_metrics),
    Scenario("settle.after_finalise", _due_task("computed")),
    Scenario("compute_reward.after_commit", _due_task("final"), in_transaction=False),
    Scenario("record_snapshot.after_mark_processed", _webhook),
    Scenario("sweep.after_settle", _sweep),
    # The batched settlement (three rewards in one settle_many) and the lost-webhook catch-up.
    Scenario("settle.after_rewards", _sweep),
    Scenario("settle.after_baseline", _sweep),
    Scenario("settle.after_finalise", _sweep),
    Scenario("record_snapshot.after_mark_processed", _sweep_lost_webhooks),
    Scenario("update_policy.after_claim", _update(True)),
    Scenario("update_policy.after_apply", _update(True)),
    # Grouped updates: three pending rewards applied under one lock, all or none.
    Scenario("update_policy.after_claim", _update_group),
    Scenario("update_policy.after_apply", _update_group),
    Scenario("update_policy.after_commit", _update(False), in_transaction=False),
]

# A sweep run's claim commits before its batches (a run that never finished runs again).
NOT_COMPARED = {"sweep_runs"}


def _digest(rt: Any) -> dict[str, str]:
    return {t: d for t, d in state_digest(rt).items() if t not in NOT_COMPARED}


def _converges(rt: Any, functions: Any, handlers: HandlerProcesses, clock: Any, request: Request) -> None:
    """One redelivery (in a fresh handler process) finishes the job; a second changes nothing."""
    again = handlers.call(request.target, request.body, clock.now(), headers=request.headers)
    assert again.error is None and again.status is not None, again
    request.expect(rt, again.status, again.body)
    assert violations(rt) == []
    settled = state_digest(rt)
    status, _ = functions.post(request.target, request.body, request.headers)
    assert 200 <= status < 300
    assert state_digest(rt) == settled


def _id(s: Scenario) -> str:
    return f"{s.fault}[{s.setup.__name__.strip('_')}]" if s.setup.__name__ in _BATCHED else s.fault


_BATCHED = {"_sweep", "_sweep_lost_webhooks", "_update_group"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[_id(s) for s in SCENARIOS])
def test_sigkill_at_a_fault_point_leaves_a_consistent_database_and_one_redelivery_converges(
    runtime, functions, make_profile, clock, handlers, scenario
):
    make_profile()
    for round_ in range(scale.CRASH_ROUNDS):
        request = scenario.setup(runtime, functions, clock, f"k{round_}")
        before = _digest(runtime)
        outcome = handlers.call(
            request.target, request.body, clock.now(), fault=scenario.fault, headers=request.headers
        )
        assert outcome.killed, f"the handler was not killed at {scenario.fault}: {outcome}"
        assert violations(runtime) == []
        if scenario.in_transaction:
            assert _digest(runtime) == before, "a kill inside the transaction left rows behind"
        else:
            assert _digest(runtime) != before, "the commit before the kill should stand"
        _converges(runtime, functions, handlers, clock, request)
    scale.record("crash.sigkill", fault=scenario.fault, kills=scale.CRASH_ROUNDS, violations=0)


def _terminate_at_the_fault_point(url: str, handlers: HandlerProcesses, sync: Path) -> int:
    """Wait until the handler says it waits at the fault point, terminate the backend of its open
    transaction (and wait until that backend is gone), then let the handler go on; returns its pid.

    An explicit handshake, no timing: the handler waits for the release as long as the test needs
    (shared/faults.py), and at that moment its only open transaction is the one at the point.
    """
    deadline = time.monotonic() + STALL_SECONDS  # only against a hang: never reached on a healthy run
    while not (sync / REACHED).exists():
        assert time.monotonic() < deadline, "the handler neither reached the fault point nor answered"
        if handlers.answered(0.005):  # (the caller receives that answer)
            raise AssertionError("the handler answered without reaching the fault point")
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        rows = conn.execute(
            "select pid from pg_stat_activity where application_name = %s and state = 'idle in transaction'"
            " and datname = current_database()",
            (APP_NAME,),
        ).fetchall()
        assert len(rows) == 1, f"one transaction of the handler should be open at the point: {rows}"
        (pid,) = rows[0]
        # With a timeout, pg_terminate_backend returns once the backend has exited: the commit
        # that follows the release cannot reach a backend that is still finishing.
        ended = conn.execute("select pg_terminate_backend(%s, %s)", (pid, TERMINATE_WAIT_MS)).fetchone()
        assert ended == (True,), f"backend {pid} did not exit"
    (sync / RELEASE).touch()
    return int(pid)


IN_TRANSACTION = [s for s in SCENARIOS if s.in_transaction]


@pytest.mark.parametrize("scenario", IN_TRANSACTION, ids=[_id(s) for s in IN_TRANSACTION])
def test_a_connection_terminated_mid_transaction_is_answered_503_never_2xx_and_changes_nothing(
    runtime, functions, make_profile, clock, handlers, scenario, tmp_path
):
    make_profile()
    for round_ in range(scale.TERMINATE_ROUNDS):
        request = scenario.setup(runtime, functions, clock, f"t{round_}")
        before = _digest(runtime)
        sync = tmp_path / f"{round_}"
        sync.mkdir()
        handlers.send(
            request.target,
            request.body,
            clock.now(),
            fault=scenario.fault,
            action="stall",
            headers=request.headers,
            sync=sync,
        )
        try:
            _terminate_at_the_fault_point(runtime.db.url, handlers, sync)
        finally:
            (sync / RELEASE).touch()  # (whatever happened, the handler must not wait for its limit)
            outcome = handlers.receive()
        assert outcome.status == 503, outcome
        assert outcome.headers.get("Retry-After") == "5"
        assert outcome.body["error"]["code"] == "unavailable"
        assert _digest(runtime) == before
        assert violations(runtime) == []
        _converges(runtime, functions, handlers, clock, request)
    scale.record("crash.terminate", fault=scenario.fault, terminations=scale.TERMINATE_ROUNDS, non_5xx=0)


def _serve(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    exe = os.path.join(os.path.dirname(sys.executable), "functions-framework")
    cmd = [exe, "--target", "update_policy", "--source", str(PROJECT_ROOT / "main.py"), "--host", "127.0.0.1"]
    proc = subprocess.Popen([*cmd, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise TimeoutError("functions-framework did not start")


def _post(port: int, body: bytes) -> int | None:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, ConnectionError):
        return None  # the instance died before answering


def test_the_functions_framework_server_killed_at_a_fault_point_answers_nothing_and_a_fresh_instance_converges(
    runtime, functions, make_profile, clock
):
    """The real `functions-framework` CLI (gunicorn) on loopback, on the real clock."""
    (post,) = settled_posts(functions, clock, make_profile(), "ff", 1)
    env = {**os.environ, "DATABASE_URL": runtime.db.url, "AUTH_MODE": "disabled", "EMBEDDER": "none"}
    env.update(AUTO_MIGRATE="false", PYTHONPATH=str(PROJECT_ROOT), LEARNER_FAULT_POINT="update_policy.after_apply")
    body = f'{{"post_id": "{post}"}}'.encode()
    before = state_digest(runtime)
    port = free_port()
    doomed = _serve(port, env)
    try:
        assert _post(port, body) is None
    finally:
        doomed.kill()
        doomed.wait()
    assert state_digest(runtime) == before
    del env["LEARNER_FAULT_POINT"]
    port = free_port()
    fresh = _serve(port, env)
    try:
        assert _post(port, body) == 200
        assert _post(port, body) == 200
    finally:
        fresh.terminate()
        fresh.wait(timeout=10)
    assert policy_version(runtime) == 1
    assert violations(runtime) == []


def test_a_kill_between_the_llm_answer_and_storing_it_keeps_the_decision_and_a_redelivery_stores_the_content(
    runtime, functions, make_profile, clock, database_url
):
    """generate_post's second transaction: the providers answered, the process died before storing."""
    stub = LlmStub(latency=0.0, db_url=database_url)
    server, url = stub.serve()
    procs = HandlerProcesses(database_url, {"XAI_API_KEY": "xai-crash-test", "XAI_BASE_URL": url})
    try:
        business = make_profile()
        for round_ in range(scale.CRASH_ROUNDS):
            body = {"business_id": str(business), "request_id": f"content-{round_}", "platform": "x", "topic": "t"}
            outcome = procs.call("generate_post", body, clock.now(), fault="content.after_providers")
            assert outcome.killed, outcome
            row = fetch_one(
                runtime, "select content_status, caption from posts where request_id = %s", body["request_id"]
            )
            assert row[0] == "pending" and row[1]  # the decision stands, with the offline caption meanwhile
            assert violations(runtime) == []
            again = procs.call("generate_post", body, clock.now())
            assert (again.status, again.body["content_status"], again.body["content_source"]) == (200, "done", "xai")
            assert again.body["caption"] == "A caption from the stub."
        assert stub.calls == 4 * scale.CRASH_ROUNDS  # two calls per delivery: the killed one and the redelivery
    finally:
        procs.close()
        server.shutdown()
    scale.record("crash.sigkill", fault="content.after_providers", kills=scale.CRASH_ROUNDS, violations=0)
