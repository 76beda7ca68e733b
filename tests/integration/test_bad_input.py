"""docs/spec.md §7: bad input gets a 4xx naming the field, and changes nothing.

Every case is sent through the HTTP function on a database that already holds
a profile, a generated post and a published post, so "nothing changed" is
checked against real state (row counts and a digest of every row).
"""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from simulation.local_functions import TARGETS
from tests.support.database import START, table_counts
from tests.support.functions import at, embedding, error_paths, generate, publish, state_digest

DROP = object()  # an override that removes the key
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def world(runtime, functions, make_profile, clock):
    bid = make_profile()
    published = generate(functions, bid, "published", "instagram")["post_id"]
    publish(functions, published, START)
    unpublished = generate(functions, bid, "unpublished", "x")["post_id"]
    clock.set(at(2))
    return SimpleNamespace(bid=bid, published=published, unpublished=unpublished)


def _valid(target: str, w: SimpleNamespace, kind: str = "metrics") -> dict[str, Any]:
    if target == "generate_post":
        return {
            "business_id": str(w.bid),
            "request_id": "fresh-request",
            "platform": "linkedin",
            "topic": "hiring",
            "topic_embedding": embedding(1),
            "scheduled_for": at(2).isoformat(),  # now: auto_publish publishes now
            "auto_publish": True,
        }
    if target == "record_snapshot":
        if kind == "published":
            return {"type": "published", "post_id": w.unpublished, "media_id": "m1", "posted_at": at(1).isoformat()}
        if kind == "deleted":
            return {"type": "deleted", "post_id": w.published, "deleted_at": at(2).isoformat()}
        return {"type": "metrics", "post_id": w.published, "observed_at": at(1.5).isoformat(), "likes": 3}
    if target == "compute_reward":
        return {"sweep": True}
    return {"post_id": w.published}


def _body(target: str, w: SimpleNamespace, override: dict[str, Any], kind: str = "metrics") -> dict[str, Any]:
    body = _valid(target, w, kind)
    for key, value in override.items():
        if value is DROP:
            body.pop(key, None)
        else:
            body[key] = value(w) if callable(value) else value
    return body


def _assert_rejected(rt, functions, target: str, body: dict[str, Any] | bytes, status: int, field: str | None) -> None:
    counts, digest = table_counts(rt), state_digest(rt)
    got, answer = functions.post(target, body)
    assert got == status, answer
    assert answer["error"]["code"]
    if field is not None:
        paths = error_paths(answer)
        assert any(field in p for p in paths), paths
    assert table_counts(rt) == counts
    assert state_digest(rt) == digest


def test_the_valid_base_bodies_are_accepted(runtime, functions, world, clock):
    """The tables below change one thing of these bodies; each must pass as it is."""
    assert functions.post("generate_post", _valid("generate_post", world))[0] == 201
    for kind in ("metrics", "published", "deleted"):
        status, answer = functions.post("record_snapshot", _valid("record_snapshot", world, kind))
        assert status == 200, (kind, answer)
    assert functions.post("compute_reward", _valid("compute_reward", world))[0] == 200


def _embedding_with(token: str) -> bytes:
    """A generate_post body whose fifth embedding value is the raw JSON ``token``."""
    values = embedding(1)
    values[4] = 12345.5
    body = {"business_id": UNKNOWN, "request_id": "r", "platform": "x", "topic": "t", "topic_embedding": values}
    return json.dumps(body).replace("12345.5", token).encode()


@pytest.mark.parametrize(
    ("token", "field"),
    [
        ("NaN", "topic_embedding"),
        ("Infinity", "topic_embedding"),
        ("-Infinity", "topic_embedding"),
        ("1e400", "topic_embedding"),
    ],
)
def test_generate_post_rejects_non_finite_embedding_values_sent_as_raw_json(
    runtime, functions, world, token: str, field: str
):
    body = _embedding_with(token).replace(UNKNOWN.encode(), str(world.bid).encode())
    assert token.encode() in body
    _assert_rejected(runtime, functions, "generate_post", body, 400, field)


GENERATE_CASES = [
    ("embedding of 383 values", {"topic_embedding": embedding(2)[:383]}, 400, "topic_embedding"),
    ("embedding of 385 values", {"topic_embedding": [*embedding(2), 0.5]}, 400, "topic_embedding"),
    ("embedding value out of range", {"topic_embedding": [1e9] * 384}, 400, "topic_embedding"),
    ("embedding of strings", {"topic_embedding": ["0.1"] * 384}, 400, "topic_embedding"),
    ("unknown platform", {"platform": "tiktok"}, 400, "platform"),
    ("platform in capitals", {"platform": "X"}, 400, "platform"),
    ("naive scheduled_for", {"scheduled_for": "2026-03-02T10:00:00"}, 400, "scheduled_for"),
    ("date-only scheduled_for", {"scheduled_for": "2026-03-02"}, 400, "scheduled_for"),
    # Were 500s: the time bucket and the reward clock overflowed on the edges of the calendar.
    ("scheduled_for in year 1", {"scheduled_for": "0001-01-01T00:00:00+14:00"}, 400, "scheduled_for"),
    ("scheduled_for in 2200", {"scheduled_for": "2200-01-01T00:00:00Z"}, 400, "scheduled_for"),
    (
        "scheduled_for in year 9999",
        {"scheduled_for": "9999-12-31T23:59:59-14:00", "auto_publish": False},
        400,
        "scheduled_for",
    ),
    ("string for a bool", {"auto_publish": "true"}, 400, "auto_publish"),
    ("int for a bool", {"auto_publish": 1}, 400, "auto_publish"),
    ("int for a string", {"request_id": 7}, 400, "request_id"),
    ("request_id with spaces", {"request_id": "a b"}, 400, "request_id"),
    ("request_id too long", {"request_id": "r" * 129}, 400, "request_id"),
    ("empty topic", {"topic": ""}, 400, "topic"),
    ("NUL in the topic", {"topic": "a\u0000b"}, 400, "topic"),  # was a 500: Postgres text refuses NUL
    ("NUL in the request_id", {"request_id": "r\u0000"}, 400, "request_id"),
    ("business_id not a uuid", {"business_id": "acme"}, 400, "business_id"),
    ("missing business_id", {"business_id": DROP}, 400, "business_id"),
    ("missing platform", {"platform": DROP}, 400, "platform"),
    ("extra field", {"temperature": 0.3}, 400, "temperature"),
    ("unknown business", {"business_id": UNKNOWN}, 404, "business_id"),
    ("auto_publish of a future post", {"scheduled_for": at(3).isoformat()}, 400, "scheduled_for"),
]


@pytest.mark.parametrize(("case", "override", "status", "field"), GENERATE_CASES, ids=[c[0] for c in GENERATE_CASES])
def test_generate_post_rejects_bad_input_naming_the_field_and_changes_nothing(
    runtime, functions, world, case, override, status, field
):
    _assert_rejected(runtime, functions, "generate_post", _body("generate_post", world, override), status, field)


SNAPSHOT_CASES = [
    ("metrics", "string for an int", {"likes": "7"}, 400, "likes"),
    ("metrics", "float for an int", {"comments": 1.5}, 400, "comments"),
    ("metrics", "bool for an int", {"shares": True}, 400, "shares"),
    ("metrics", "negative count", {"likes": -1}, 400, "likes"),
    ("metrics", "negative follower_count", {"follower_count": -5}, 400, "follower_count"),
    ("metrics", "count over 10**12", {"saves": 10**12 + 1}, 400, "saves"),
    ("metrics", "impressions over 10**12", {"impressions": 10**15}, 400, "impressions"),
    ("metrics", "timeslot_hours 12", {"timeslot_hours": 12}, 400, "timeslot_hours"),
    ("metrics", "timeslot_hours as a string", {"timeslot_hours": "24"}, 400, "timeslot_hours"),
    ("metrics", "timeslot_hours as a float", {"timeslot_hours": 24.0}, 400, "timeslot_hours"),
    ("metrics", "timeslot_hours 24.5", {"timeslot_hours": 24.5}, 400, "timeslot_hours"),
    ("metrics", "observed_at in year 1", {"observed_at": "0001-01-01T00:00:00-14:00"}, 400, "observed_at"),
    ("metrics", "observed_at in year 9999", {"observed_at": "9999-12-31T23:59:59+14:00"}, 400, "observed_at"),
    ("metrics", "observed_at before 1970", {"observed_at": "1969-12-31T23:59:59Z"}, 400, "observed_at"),
    ("metrics", "naive observed_at", {"observed_at": "2026-03-02T10:30:00"}, 400, "observed_at"),
    ("metrics", "observed_at not a date", {"observed_at": "yesterday"}, 400, "observed_at"),
    ("metrics", "missing observed_at", {"observed_at": DROP}, 400, "observed_at"),
    ("metrics", "extra field", {"views": 10}, 400, "views"),
    ("metrics", "post_id not a uuid", {"post_id": "p1"}, 400, "post_id"),
    ("metrics", "unknown event type", {"type": "liked"}, 400, "type"),
    ("metrics", "missing event type", {"type": DROP}, 400, "type"),
    ("metrics", "unknown post", {"post_id": UNKNOWN}, 404, "post_id"),
    ("metrics", "unpublished post", {"post_id": lambda w: w.unpublished}, 409, "post_id"),
    (
        "metrics",
        "observed_at before posted_at",
        {"observed_at": (START - timedelta(minutes=1)).isoformat()},
        400,
        "observed_at",
    ),
    ("metrics", "observed_at beyond 5 min ahead", {"observed_at": at(2 + 6 / 60).isoformat()}, 400, "observed_at"),
    ("published", "naive posted_at", {"posted_at": "2026-03-02T10:00:00"}, 400, "posted_at"),
    ("published", "posted_at in year 1", {"posted_at": "0001-01-01T00:00:00Z"}, 400, "posted_at"),
    ("published", "posted_at in year 9999", {"posted_at": "9999-12-31T23:59:59.999999-23:59"}, 400, "posted_at"),
    ("published", "empty media_id", {"media_id": ""}, 400, "media_id"),
    ("published", "int media_id", {"media_id": 7}, 400, "media_id"),
    ("published", "missing media_id", {"media_id": DROP}, 400, "media_id"),
    ("published", "NUL in the media_id", {"media_id": "m\u0000"}, 400, "media_id"),
    ("published", "posted_at beyond 5 min ahead", {"posted_at": at(2.5).isoformat()}, 400, "posted_at"),
    ("published", "counters on a published event", {"likes": 3}, 400, "likes"),
    ("published", "unknown post", {"post_id": UNKNOWN}, 404, "post_id"),
    ("deleted", "naive deleted_at", {"deleted_at": "2026-03-02T10:00:00"}, 400, "deleted_at"),
    ("deleted", "deleted_at in year 1", {"deleted_at": "0001-01-01T00:00:00+23:59"}, 400, "deleted_at"),
    ("deleted", "deleted_at beyond 5 min ahead", {"deleted_at": at(3).isoformat()}, 400, "deleted_at"),
    ("deleted", "deleted_at before posted_at", {"deleted_at": at(-1).isoformat()}, 400, "deleted_at"),
    ("deleted", "unpublished post", {"post_id": lambda w: w.unpublished}, 409, "post_id"),
]


@pytest.mark.parametrize(
    ("kind", "case", "override", "status", "field"), SNAPSHOT_CASES, ids=[f"{c[0]}: {c[1]}" for c in SNAPSHOT_CASES]
)
def test_record_snapshot_rejects_bad_input_naming_the_field_and_changes_nothing(
    runtime, functions, world, kind, case, override, status, field
):
    body = _body("record_snapshot", world, override, kind)
    _assert_rejected(runtime, functions, "record_snapshot", body, status, field)


@pytest.mark.parametrize(
    ("kind", "override", "path"),
    [
        ("metrics", {"likes": -1}, "likes"),
        ("published", {"posted_at": "2026-03-02T10:00:00"}, "posted_at"),
    ],
)
def test_record_snapshot_error_paths_are_paths_into_the_body(runtime, functions, world, kind, override, path):
    """The body has no "metrics" or "published" key: the path of ``likes`` is ``likes``."""
    status, answer = functions.post("record_snapshot", _body("record_snapshot", world, override, kind))
    assert status == 400
    assert error_paths(answer) == [path]


COMPUTE_CASES = [
    ("both post_id and sweep", {"post_id": lambda w: w.published}, 400, "body"),
    ("neither post_id nor sweep", {"sweep": DROP}, 400, "body"),
    ("sweep false and no post_id", {"sweep": False}, 400, "body"),
    ("string for a bool", {"sweep": "true"}, 400, "sweep"),
    ("int for a bool", {"sweep": 1}, 400, "sweep"),
    ("string for an int", {"limit": "7"}, 400, "limit"),
    ("limit 0", {"limit": 0}, 400, "limit"),
    ("limit over the maximum", {"limit": 100_001}, 400, "limit"),
    ("post_id not a uuid", {"sweep": DROP, "post_id": "p1"}, 400, "post_id"),
    ("extra field", {"force": True}, 400, "force"),
    ("unknown post", {"sweep": DROP, "post_id": UNKNOWN}, 404, "post_id"),
    ("unpublished post", {"sweep": DROP, "post_id": lambda w: w.unpublished}, 404, "post_id"),
]


@pytest.mark.parametrize(("case", "override", "status", "field"), COMPUTE_CASES, ids=[c[0] for c in COMPUTE_CASES])
def test_compute_reward_rejects_bad_input_naming_the_field_and_changes_nothing(
    runtime, functions, world, case, override, status, field
):
    _assert_rejected(runtime, functions, "compute_reward", _body("compute_reward", world, override), status, field)


@pytest.mark.parametrize("body", [{"sweep": True, "post_id": UNKNOWN}, {}, {"sweep": False, "limit": 5}])
def test_compute_reward_without_exactly_one_of_post_id_and_sweep_names_both(runtime, functions, body):
    status, answer = functions.post("compute_reward", body)
    assert status == 400
    (only,) = answer["error"]["fields"]
    assert only["path"] == "body"
    assert "post_id" in only["message"]
    assert "sweep" in only["message"]


UPDATE_CASES = [
    ("missing post_id", {"post_id": DROP}, 400, "post_id"),
    ("int for a uuid", {"post_id": 7}, 400, "post_id"),
    ("post_id not a uuid", {"post_id": "p1"}, 400, "post_id"),
    ("extra field", {"force": True}, 400, "force"),
    ("unknown post", {"post_id": UNKNOWN}, 404, "post_id"),
    ("unpublished post", {"post_id": lambda w: w.unpublished}, 404, "post_id"),
    ("reward still pending", {}, 409, "post_id"),
]


@pytest.mark.parametrize(("case", "override", "status", "field"), UPDATE_CASES, ids=[c[0] for c in UPDATE_CASES])
def test_update_policy_rejects_bad_input_naming_the_field_and_changes_nothing(
    runtime, functions, world, case, override, status, field
):
    _assert_rejected(runtime, functions, "update_policy", _body("update_policy", world, override), status, field)


MALFORMED = [
    ("truncated JSON", b'{"post_id": "00000000-0000-4000-8000-0000'),
    ("empty body", b""),
    ("a JSON array", b"[]"),
    ("a JSON string", b'"post_id"'),
    ("a JSON number", b"42"),
    ("JSON null", b"null"),
    ("not UTF-8", b'{"post_id": "\xff\xfe"}'),
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(("case", "raw"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_every_function_answers_400_for_a_body_that_is_not_a_json_object(runtime, functions, world, target, case, raw):
    _assert_rejected(runtime, functions, target, raw, 400, "body")


@pytest.mark.parametrize("target", TARGETS)
def test_every_function_answers_413_for_a_body_over_256_kib(runtime, functions, world, target):
    limit = runtime.settings.max_body_bytes
    assert limit == 256 * 1024
    raw = b'{"pad": "' + b"a" * limit + b'"}'
    _assert_rejected(runtime, functions, target, raw, 413, None)


@pytest.mark.parametrize("target", TARGETS)
def test_every_function_answers_405_to_get(runtime, functions, world, target):
    counts, digest = table_counts(runtime), state_digest(runtime)
    # LocalFunctions only posts; its flask test clients are the served apps themselves.
    resp = functions._clients[target].get("/")
    assert resp.status_code == 405
    assert resp.headers.get("Allow") == "POST"
    assert resp.get_json()["error"]["code"] == "method_not_allowed"
    assert (table_counts(runtime), state_digest(runtime)) == (counts, digest)


def test_timestamps_up_to_five_minutes_ahead_are_accepted_as_clock_skew(runtime, functions, world, clock):
    ahead = clock.now() + timedelta(minutes=5)
    body = _valid("record_snapshot", world, "published") | {"posted_at": ahead.isoformat()}
    assert functions.post("record_snapshot", body)[0] == 200
    body = _valid("record_snapshot", world) | {"post_id": world.unpublished, "observed_at": ahead.isoformat()}
    status, answer = functions.post("record_snapshot", body)
    assert (status, answer["changed"]) == (200, True)
    beyond = ahead + timedelta(microseconds=1)
    body = _valid("record_snapshot", world) | {"observed_at": beyond.isoformat()}
    _assert_rejected(runtime, functions, "record_snapshot", body, 400, "observed_at")


def test_a_webhook_snapshot_id_beyond_bigint_is_a_400_not_a_500(runtime, functions, world):
    notification = {
        "type": "INSERT",
        "table": "snapshots",
        "schema": "public",
        "record": {"snapshot_id": 2**63, "post_id": world.published},
    }
    _assert_rejected(runtime, functions, "record_snapshot", notification, 400, "record.snapshot_id")
