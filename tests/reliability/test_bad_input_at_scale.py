"""docs/spec.md §7, bad input at scale: thousands of generated bad bodies per endpoint are all
answered 4xx with the path of the wrong field, none 5xx, and no row changes;
generated valid bodies are all answered 2xx. Oversized bodies are refused (413)
before they are parsed. (tests/integration/test_bad_input.py has the hand-written
tables; test_schema_constraints.py the database's own checks.)
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import functions_framework
import pytest
from hypothesis import HealthCheck, given, settings
from werkzeug.serving import make_server

from shared.config import PROJECT_ROOT
from shared.core.rate_limits import NO_LIMITS
from simulation.local_functions import TARGETS
from tests.reliability import scale
from tests.reliability.checks import violations
from tests.reliability.helpers import settled_posts
from tests.reliability.payloads import World, bad_body, valid_body
from tests.support.functions import at, error_paths, generate, publish, state_digest

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
    database=None,
)


@pytest.fixture
def world(runtime, functions, make_profile, clock) -> World:
    business = make_profile()
    (settled,) = settled_posts(functions, clock, business, "settled", 1, "x")
    posted_at = clock.now()
    published = generate(functions, business, "published", "instagram")["post_id"]
    publish(functions, published, posted_at)
    unpublished = generate(functions, business, "unpublished", "x")["post_id"]
    clock.set(posted_at + timedelta(hours=2))
    return World(str(business), published, unpublished, settled, posted_at, clock.now())


def _matches(paths: list[str], expected: set[str]) -> bool:
    return any(p == e or p.startswith(e + ".") for p in paths for e in expected)


@pytest.mark.parametrize("target", TARGETS)
def test_generated_bad_bodies_are_all_4xx_with_the_field_path_and_change_nothing(runtime, functions, world, target):
    digest = state_digest(runtime)
    statuses: Counter[int] = Counter()

    @settings(FUZZ, max_examples=scale.BAD_INPUT_EXAMPLES)
    @given(case=bad_body(target, world))
    def check(case: tuple[bytes, set[str]]) -> None:
        raw, expected = case
        status, answer = functions.post(target, raw)
        statuses[status] += 1
        assert 400 <= status < 500, (status, answer, raw[:300])
        paths = error_paths(answer)
        assert _matches(paths, expected), (paths, expected, raw[:300])
        assert state_digest(runtime) == digest, raw[:300]

    check()
    assert sum(statuses.values()) >= scale.BAD_INPUT_EXAMPLES
    scale.record(
        "bad_input.generated",
        target=target,
        cases=sum(statuses.values()),
        statuses=dict(statuses),
        server_errors=0,
        rows_changed=0,
    )


@pytest.mark.parametrize("target", TARGETS)
def test_generated_valid_bodies_are_all_2xx(runtime, functions, world, target, monkeypatch):
    # At full scale, more of one business's posts within the hour than its hourly limit allows
    # (the limits have their own tests: tests/integration/test_tenants.py).
    monkeypatch.setattr(runtime, "limits", NO_LIMITS)
    statuses: Counter[int] = Counter()

    @settings(FUZZ, max_examples=scale.VALID_INPUT_EXAMPLES)
    @given(body=valid_body(target, world))
    def check(body: dict[str, Any]) -> None:
        status, answer = functions.post(target, body)
        statuses[status] += 1
        assert 200 <= status < 300, (status, answer, str(body)[:300])

    check()
    assert violations(runtime) == []
    scale.record("valid_input.generated", target=target, cases=sum(statuses.values()), statuses=dict(statuses))


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, int]]:
    """The functions on loopback, so bodies can be sent chunked (with no Content-Length)."""
    ports, servers = {}, []
    for target in TARGETS:
        app = functions_framework.create_app(target=target, source=str(PROJECT_ROOT / "main.py"))  # type: ignore[no-untyped-call]
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        ports[target] = server.server_port
    yield ports
    for server in servers:
        server.shutdown()


def _send(port: int, body: bytes, *, chunked: bool) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if chunked:
            conn.putrequest("POST", "/")
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for i in range(0, len(body), 65536):
                piece = body[i : i + 65536]
                conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


OVERSIZED = {
    "valid JSON": lambda n: b'{"pad": "' + b"a" * n + b'"}',
    "deeply nested": lambda n: b"[" * n + b"]" * n,
    "not JSON at all": lambda n: b"\xff" * (2 * n),
}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("kind", sorted(OVERSIZED))
@pytest.mark.parametrize("target", TARGETS)
def test_oversized_bodies_are_413_before_parsing(runtime, world, served, target, kind, chunked):
    """Whatever is in it (a body that would parse, or would fail to), over the limit it is 413."""
    digest = state_digest(runtime)
    limit = runtime.settings.max_body_bytes
    status = _send(served[target], OVERSIZED[kind](limit), chunked=chunked)
    assert status == 413
    assert state_digest(runtime) == digest


def test_a_body_just_under_the_limit_is_parsed(runtime, world, served):
    """The limit is the body size, not less: a 400 (parsed, wrong field), not a 413."""
    limit = runtime.settings.max_body_bytes
    body = b'{"post_id": "' + b"a" * (limit - 20) + b'"}'
    assert len(body) <= limit
    assert _send(served["update_policy"], body, chunked=True) == 400


def test_the_world_is_at_two_hours(world):
    assert world.now == at(26)  # settled at 24 h, published post at 24 h, two hours later
