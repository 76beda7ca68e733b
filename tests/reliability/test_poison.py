"""Poison and transient failures (docs/spec.md §7; docs/architecture.md: 4xx permanent with a dead letter after the
last attempt, 503 + Retry-After for transient problems).

A malformed task body is rejected on every attempt; the local runner dead-letters
it at once (a 4xx cannot get better), Cloud Tasks retries it up to the queue's
max_attempts and the function records a dead letter when the last attempt is
rejected, checked here with the attempt headers and against the emulator.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import functions_framework
import psycopg
import pytest
from werkzeug.serving import make_server

from shared.bootstrap import Runtime, use_runtime
from shared.config import PROJECT_ROOT, Settings
from shared.core.delivery import RETRY_HEADER
from shared.core.tasks import Task
from shared.store import outbox
from shared.store.db import Database
from shared.tasks.local import LocalTaskRunner
from tests.reliability import scale
from tests.reliability.helpers import published_post, settled_posts
from tests.support.cloud import LOCATION, PROJECT, emulator, free_port
from tests.support.functions import fetch_all, fetch_one, state_digest

POISON = b'{"post_id": "not-a-uuid", "force": true}'
POOLED = bool(os.environ.get("LEARNER_POOLER"))  # run through pgbouncer by `make test-pooler`


def _headers(attempt: int, name: str = "poison-1") -> dict[str, str]:
    return {
        "X-CloudTasks-QueueName": "update-policy",
        "X-CloudTasks-TaskName": name,
        "X-CloudTasks-TaskRetryCount": str(attempt - 1),
        "X-CloudTasks-TaskExecutionCount": str(attempt - 1),
    }


def _dead_letters(rt: Runtime) -> list[tuple[Any, ...]]:
    return fetch_all(
        rt, "select function, task_name, attempt, status, error->>'code', body, body_sha256 from dead_letters"
    )


def test_the_local_runner_dead_letters_a_malformed_task_at_its_first_rejection(runtime, functions, clock):
    with runtime.db.transaction() as conn:
        outbox.add_task(conn, Task("update_policy-poison", "update_policy", {"post_id": "not-a-uuid"}), clock.now())
        outbox.add_task(conn, Task("compute_reward-poison", "compute_reward", {"bogus": "1"}), clock.now())
    runner = LocalTaskRunner(runtime.db, functions.invoke)
    assert runner.run_due(clock.now()) == 2
    rows = fetch_all(runtime, "select task_name, status, attempts, last_error from outbox order by task_name")
    assert rows == [
        ("compute_reward-poison", "dead", 1, "HTTP 400"),
        ("update_policy-poison", "dead", 1, "HTTP 400"),
    ]
    digest = state_digest(runtime)
    assert runner.run_due(clock.now()) == 0  # a dead letter is never delivered again
    assert state_digest(runtime) == digest


def test_a_poison_task_is_rejected_on_every_attempt_and_dead_lettered_at_the_last(runtime, functions):
    max_attempts = runtime.settings.tasks_max_attempts
    assert max_attempts == 10  # terraform/tasks.tf's queues, through TASKS_MAX_ATTEMPTS
    for attempt in range(1, max_attempts + 1):
        status, answer = functions.post("update_policy", POISON, _headers(attempt))
        assert status == 400 and answer["error"]["fields"], answer
        assert len(_dead_letters(runtime)) == (0 if attempt < max_attempts else 1)
    # The final attempt delivered again (at-least-once) is still one dead letter.
    assert functions.post("update_policy", POISON, _headers(max_attempts))[0] == 400
    (row,) = _dead_letters(runtime)
    assert row == (
        "update_policy",
        "poison-1",
        max_attempts,
        400,
        "invalid_request",
        POISON.decode(),
        hashlib.sha256(POISON).hexdigest(),
    )


def test_a_task_that_conflicts_at_its_last_attempt_is_dead_lettered_with_its_reason(runtime, functions, make_profile):
    post = published_post(functions, make_profile(), "pending")  # its reward is not final: update_policy says 409
    status, _ = functions.post("update_policy", {"post_id": post}, _headers(10, "conflict-1"))
    assert status == 409
    (row,) = _dead_letters(runtime)
    assert row[:5] == ("update_policy", "conflict-1", 10, 409, "conflict")


def test_successful_or_untasked_requests_leave_no_dead_letter(runtime, functions, make_profile, clock):
    (post,) = settled_posts(functions, clock, make_profile(), "ok", 1)
    assert functions.post("update_policy", {"post_id": post}, _headers(10, "fine"))[0] == 200
    assert functions.post("update_policy", POISON)[0] == 400  # not a Cloud Task: nothing to dead-letter
    assert functions.post("update_policy", POISON, _headers(9, "early"))[0] == 400  # retried later
    assert _dead_letters(runtime) == []


@pytest.mark.parametrize(
    ("target", "body", "headers", "field"),
    [
        ("update_policy", {"post_id": "{post}", "note\u0000": 1}, {}, "note\u0000"),
        ("compute_reward", {"post_id": "{post}", "\u0000": 1}, {}, "\u0000"),
        ("record_snapshot", {"type": "metrics", "post_id": "{post}", "observed_at": "x", "x\u0000": 1}, {}, "x\u0000"),
        ("update_policy", {"post_id": "{post}"}, {"X-CloudTasks-TaskName": "nul\u0000name"}, None),
        ("update_policy", {"post_id": "{post}"}, {"X-CloudTasks-QueueName": "q\u0000"}, None),
    ],
    ids=["extra-field-update", "extra-field-compute", "extra-field-snapshot", "task-name", "queue-name"],
)
def test_a_nul_in_a_rejected_last_attempt_is_answered_4xx_and_dead_lettered(
    runtime, functions, make_profile, target, body, headers, field
):
    """Postgres text and jsonb cannot hold NUL: the dead letter of a body or header with one was a 500."""
    post = published_post(functions, make_profile(), "pending")  # its reward is pending: update_policy says 409
    body = {k: (post if v == "{post}" else v) for k, v in body.items()}
    status, answer = functions.post(target, body, {**_headers(10, "nul-1"), **headers})
    assert status in (400, 409), (status, answer)
    if field is not None:
        assert field in [f["path"] for f in answer["error"]["fields"]], answer
    (row,) = _dead_letters(runtime)
    assert row[0] == target and row[3] == status


@pytest.mark.parametrize(
    ("retries", "attempt"),
    [("99999999999999999999", 10**9), ("3000000000", 10**9), (" 9 ", 10), ("\u00b2", None), ("1\u00b9", None)],
    ids=["beyond-bigint", "beyond-integer", "spaces", "superscript-two", "superscript-one"],
)
def test_odd_attempt_headers_are_read_as_a_bounded_count_or_as_no_task(
    runtime, functions, make_profile, retries, attempt
):
    """str.isdigit takes '²' (int() does not) and a count beyond the column's integer was a 500."""
    post = published_post(functions, make_profile(), "pending")
    status, _ = functions.post("update_policy", {"post_id": post}, {**_headers(10), RETRY_HEADER: retries})
    assert status == 409
    assert [r[2] for r in _dead_letters(runtime)] == ([] if attempt is None else [attempt])


def _ledger(url: str) -> tuple[int, int]:
    with psycopg.connect(url, prepare_threshold=None) as conn:
        row = conn.execute(
            "select (select version from policy_state), (select count(*) from policy_updates)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_a_transient_database_error_is_answered_503_with_retry_after_and_a_retry_succeeds(
    runtime, functions, make_profile, clock
):
    (post,) = settled_posts(functions, clock, make_profile(), "transient", 1)
    # Every idle connection of the function's pool is cut (a failover, a pooler restart).
    with psycopg.connect(runtime.db.url, autocommit=True, prepare_threshold=None) as conn:
        cut = conn.execute(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'"
        ).fetchone()
    assert cut is not None and (POOLED or cut[0] >= 1)  # (a pooler may hold no idle server connection)
    statuses: list[int] = []
    for _ in range(runtime.settings.db_pool_max + 1):
        status, answer = functions.post("update_policy", {"post_id": post})
        statuses.append(status)
        if status == 200:
            break
        assert status == 503 and answer["error"]["code"] == "unavailable", answer
        assert _ledger(runtime.db.url) == (0, 0)  # (read on a connection of its own: the pool's are cut)
    if POOLED:  # pgbouncer replaces a cut idle server connection before the next transaction: nothing to see
        assert set(statuses) <= {200, 503} and statuses[-1] == 200, statuses
    else:
        assert statuses[0] == 503 and statuses[-1] == 200, statuses
    status, answer = functions.post("update_policy", {"post_id": post})
    assert (status, answer["applied"]) == (200, False)
    scale.record("transient.pool_cut", answers=statuses)


def test_a_503_carries_retry_after(runtime, functions, make_profile, clock):
    """The header itself, on the served app's whole answer. The database is unreachable (a
    pooler could hide cut connections, so nothing is left to chance here)."""
    (post,) = settled_posts(functions, clock, make_profile(), "header", 1)
    down = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", max_size=1)
    down.pool.timeout = 1.0  # how long a request waits for a connection before giving up
    use_runtime(dataclasses.replace(runtime, db=down))
    try:
        resp = functions.response("update_policy", {"post_id": post})
    finally:
        use_runtime(runtime)
        down.close()
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "unavailable"
    assert resp.headers["Retry-After"] == "5"
    assert functions.post("update_policy", {"post_id": post})[1]["applied"] is True  # once it is back


# -- against the Cloud Tasks emulator -------------------------------------------------------


class Counting:
    """WSGI wrapper (test code) that counts the requests reaching the served function."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.attempts: list[tuple[str | None, str | None]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.attempts.append(
            (environ.get("HTTP_X_CLOUDTASKS_TASKRETRYCOUNT"), environ.get("HTTP_X_CLOUDTASKS_TASKNAME"))
        )
        return self.app(environ, start_response)


@pytest.fixture
def emulator_with_three_attempts() -> Iterator[str]:
    """The emulator retrying a failed task twice: three attempts, like max_attempts = 3."""
    with emulator("-r", "2") as address:
        yield address


@pytest.mark.emulator
def test_a_poison_cloud_task_is_rejected_at_each_of_its_attempts_and_dead_lettered_once(
    runtime, emulator_with_three_attempts
):
    from google.cloud import tasks_v2

    from shared.bootstrap import cloud_tasks_client

    three = dataclasses.replace(runtime, settings=runtime.settings.model_copy(update={"tasks_max_attempts": 3}))
    use_runtime(three)
    app = Counting(functions_framework.create_app(target="update_policy", source=str(PROJECT_ROOT / "main.py")))  # type: ignore[no-untyped-call]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client: Any = cloud_tasks_client(Settings(cloud_tasks_emulator=emulator_with_three_attempts))
        parent = f"projects/{PROJECT}/locations/{LOCATION}"
        queue = client.queue_path(PROJECT, LOCATION, "update-policy")
        client.create_queue(parent=parent, queue={"name": queue})
        name = f"poison-{uuid.uuid4().hex[:8]}"
        client.create_task(
            parent=queue,
            task=tasks_v2.Task(
                name=f"{queue}/tasks/{name}",
                http_request=tasks_v2.HttpRequest(
                    http_method=tasks_v2.HttpMethod.POST,
                    url=f"http://127.0.0.1:{server.server_port}/",
                    headers={"Content-Type": "application/json"},
                    body=POISON,
                ),
            ),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _dead_letters(three):
            time.sleep(0.1)
        time.sleep(1.0)  # a fourth attempt would arrive by now
    finally:
        server.shutdown()
        use_runtime(runtime)
    assert [a[0] for a in app.attempts] == ["0", "1", "2"]
    (row,) = _dead_letters(three)
    assert row[1:5] == (name, 3, 400, "invalid_request")
    # The emulator names the queue by its full path; Cloud Tasks by its id. Either is kept as sent.
    assert fetch_one(three, "select queue, executions from dead_letters") == (queue, 2)
    scale.record("poison.emulator", attempts=len(app.attempts), dead_letters=1)
