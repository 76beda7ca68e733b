"""Hypothesis strategies for request bodies: bad ones (each with the field it breaks) and valid ones.

A bad body is a valid base body with one thing wrong: a non-finite number, a
wrong length, a negative or huge count, a wrong type, an unknown platform, a
naive or future timestamp, a missing or extra field, truncated JSON, deep
nesting, or not an object at all. The field is where the 400 must point
("body" for errors of the whole body).
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
from hypothesis import strategies as st

from shared.core.context import EMBEDDING_DIM
from shared.services.publishing import CLOCK_SKEW

WHOLE = "body"
PLATFORM_NAMES = ("instagram", "x", "linkedin", "facebook")


@dataclass(frozen=True)
class Raw:
    """A JSON token written as is (NaN, Infinity, 1e400: not producible by json.dumps of a float)."""

    token: str


def dumps(body: Any) -> bytes:
    raws: list[str] = []

    def swap(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value.token)
            return f"@@raw{len(raws) - 1}@@"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(body))
    for i, token in enumerate(raws):
        text = text.replace(f'"@@raw{i}@@"', token)
    return text.encode()


@dataclass(frozen=True)
class World:
    business: str
    published: str  # published at posted_at, its reward pending
    unpublished: str
    settled: str  # reward computed, update not applied yet
    posted_at: datetime
    now: datetime


COUNTER_FIELDS = (
    "likes",
    "comments",
    "shares",
    "saves",
    "replies",
    "reposts",
    "reactions",
    "impressions",
    "reach",
    "follower_count",
)


def valid_base(target: str, w: World, kind: str = "metrics") -> dict[str, Any]:
    if target == "generate_post":
        return {
            "business_id": w.business,
            "request_id": "base",
            "platform": "linkedin",
            "topic": "hiring",
            "topic_embedding": [0.01] * EMBEDDING_DIM,
            "scheduled_for": w.now.isoformat(),
            "auto_publish": True,
        }
    if target == "record_snapshot":
        if kind == "published":
            return {"type": "published", "post_id": w.unpublished, "media_id": "m1", "posted_at": w.now.isoformat()}
        if kind == "deleted":
            return {"type": "deleted", "post_id": w.published, "deleted_at": w.now.isoformat()}
        return {"type": "metrics", "post_id": w.published, "observed_at": w.now.isoformat(), "likes": 3}
    if target == "compute_reward":
        return {"sweep": True, "limit": 10}
    if target == "review_post":
        return {"post_id": w.unpublished, "action": "edit", "caption": "A caption a person wrote."}
    if target == "read_business":
        return {"business_id": w.business, "view": "posts", "limit": 10}
    if target == "save_profile":
        return {
            "business_id": w.business,
            "name": "Acme Analytics",
            "business_types": ["Technology"],
            "description": "Dashboards for small teams.",
            "time_zone": "Europe/Berlin",
            "embedding": [0.01] * EMBEDDING_DIM,
            "follower_counts": {"x": 100},
            "require_approval": False,
        }
    return {"post_id": w.settled}


# -- invalid values by kind of field ----------------------------------------------------------

_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_NON_FINITE = st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e400"), Raw("-1e999")])


def _not(*kinds: type) -> st.SearchStrategy[Any]:
    """Any JSON value whose Python type is none of ``kinds`` (bool is not an int here)."""
    return _ANY_JSON.filter(lambda v: type(v) not in kinds)


_UUID_BAD = st.one_of(
    st.text(max_size=40).filter(lambda s: len(s) not in (32, 36)),
    st.sampled_from(["00000000-0000-4000-8000-00000000000g", "{00000000-0000}", "null", ""]),
    _not(str),
)
_NAIVE = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.isoformat())
_NOT_A_TIME = st.one_of(
    _NAIVE,
    st.sampled_from(["2026-03-02", "yesterday", "2026-13-01T00:00:00Z", "2026-03-02T25:00:00Z", "", "T"]),
    # Aware, but outside the years the product takes (1970 to 2199).
    st.sampled_from(
        ["0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z", "2200-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"]
    ),
    st.integers(),
    _not(str),
)


def _future(w: World) -> st.SearchStrategy[Any]:
    """Aware and more than the 5 minutes of clock skew ahead of the server's clock."""
    return st.integers(301, 10**8).map(lambda s: (w.now + timedelta(seconds=s)).isoformat())


def _past(w: World) -> st.SearchStrategy[Any]:
    """Aware and more than the 5 minutes of clock skew behind the server's clock."""
    return st.integers(301, 10**9).map(lambda s: (w.now - timedelta(seconds=s)).isoformat())


_COUNT_BAD = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=10**12 + 1, max_value=10**30),
    st.floats(allow_nan=False).filter(lambda f: not float(f).is_integer()),
    st.booleans(),
    st.text(max_size=6),
    _NON_FINITE,
    st.lists(st.integers(), max_size=2),
)
_BOOL_BAD = st.one_of(st.integers(), st.sampled_from(["true", "false", "1", "yes"]), st.none(), st.floats())


def _embedding_bad(seed: int) -> st.SearchStrategy[Any]:
    good = [float(v) for v in np.random.default_rng(seed).normal(size=EMBEDDING_DIM)]

    def at(i: int, value: Any) -> list[Any]:
        return [*good[:i], value, *good[i + 1 :]]

    index = st.integers(0, EMBEDDING_DIM - 1)
    return st.one_of(
        st.integers(0, 2 * EMBEDDING_DIM).filter(lambda n: n != EMBEDDING_DIM).map(lambda n: (good * 3)[:n]),
        st.tuples(index, _NON_FINITE).map(lambda t: at(*t)),
        st.tuples(index, st.floats(min_value=1e6, exclude_min=True, allow_infinity=False)).map(lambda t: at(*t)),
        st.tuples(index, st.text(max_size=4) | st.none() | st.booleans()).map(lambda t: at(*t)),
        _not(list, type(None)),
    )


def bad_fields(target: str, w: World) -> dict[str, st.SearchStrategy[Any]]:
    """Per field of the base body, invalid values for it."""
    if target == "generate_post":
        return {
            "business_id": _UUID_BAD,
            "request_id": st.one_of(
                st.text(min_size=1, max_size=20).filter(
                    lambda s: any(c not in string.ascii_letters + string.digits + "._:-" for c in s)
                ),
                st.text(alphabet="abc", min_size=129, max_size=200),
                st.just(""),
                _not(str),
            ),
            "platform": st.one_of(
                st.text(max_size=12).filter(lambda s: s not in ("instagram", "x", "linkedin", "facebook")),
                _not(str),
            ),
            "topic": st.one_of(st.just(""), st.text(min_size=2001, max_size=2100), st.just("a\x00b"), _not(str)),
            "topic_embedding": _embedding_bad(1),
            # The base body publishes now: so neither later nor earlier than the clock skew allows.
            "scheduled_for": st.one_of(_NOT_A_TIME.filter(lambda v: v is not None), _future(w), _past(w)),
            "auto_publish": _BOOL_BAD,
        }
    if target == "record_snapshot":
        counts = {c: _COUNT_BAD for c in ("likes", "comments", "shares", "saves", "replies", "reposts", "reactions")}
        optional_counts = {c: _COUNT_BAD for c in ("impressions", "reach", "follower_count")}
        return {
            "type": st.one_of(
                st.text(max_size=10).filter(lambda s: s not in ("metrics", "published", "deleted")), _not(str)
            ),
            "post_id": _UUID_BAD,
            "observed_at": st.one_of(
                _NOT_A_TIME, _future(w), st.just((w.posted_at - timedelta(seconds=1)).isoformat())
            ),
            "timeslot_hours": st.one_of(
                st.integers().filter(lambda n: n not in (6, 24, 48, 72, 168)), st.sampled_from(["24", 24.0, True])
            ),
            **counts,
            **optional_counts,
        }
    if target == "compute_reward":
        return {
            "sweep": _BOOL_BAD.filter(lambda v: v is not None),
            "limit": st.one_of(st.integers(max_value=0), st.integers(min_value=100_001), _not(int)),
        }
    if target == "review_post":
        return {
            "post_id": _UUID_BAD,
            "action": st.one_of(
                st.text(max_size=10).filter(lambda s: s not in ("approve", "reject", "edit")), _not(str)
            ),
            # None with 'edit' is refused too (a caption goes with an edit).
            "caption": st.one_of(st.just(""), st.text(min_size=5001, max_size=5100), st.just("a\x00b"), _not(str)),
        }
    if target == "read_business":
        return {
            "business_id": _UUID_BAD.filter(lambda v: v is not None),
            "view": st.one_of(
                st.text(max_size=12).filter(lambda s: s not in ("posts", "best_times", "preferences")), _not(str)
            ),
            "platform": st.one_of(
                st.text(max_size=12).filter(lambda s: s not in ("instagram", "x", "linkedin", "facebook")),
                _not(str, type(None)),
            ),
            "limit": st.one_of(st.integers(max_value=0), st.integers(min_value=201), _not(int)),
            # Well formed but never given out, wrongly formed, or not a string.
            "cursor": st.one_of(
                st.sampled_from(["abc", "2026-01-01T00:00:00|x", "2026-01-01T00:00:00|" + "0" * 36, "", "a b"]),
                st.text(alphabet="ab", min_size=101, max_size=120),
                _not(str, type(None)),
            ),
        }
    if target == "save_profile":
        text = st.one_of(st.text(min_size=2001, max_size=2100), st.just("a\x00b"), _not(str))
        return {
            "business_id": _UUID_BAD.filter(lambda v: v is not None),  # null is valid: a new business
            "name": st.one_of(st.just(""), st.text(min_size=201, max_size=220), st.just("a\x00b"), _not(str)),
            "business_types": st.one_of(
                st.lists(st.just("B2B"), min_size=21, max_size=25), st.just([""]), st.just([1]), _not(list)
            ),
            "description": text,
            "time_zone": st.one_of(st.sampled_from(["Mars/Olympus", "", "UTC+25", "Europe/", "Europe"]), _not(str)),
            "embedding": _embedding_bad(2),
            "follower_counts": st.one_of(
                st.just({"tiktok": 1}), st.just({"x": -1}), st.just({"x": 10**13}), st.just({"x": 1.5}), _not(dict)
            ),
            "require_approval": _BOOL_BAD,
        }
    return {"post_id": _UUID_BAD}


REQUIRED = {
    "generate_post": ("business_id", "request_id", "platform", "topic"),
    "review_post": ("post_id", "action"),
    "save_profile": ("name",),
    "read_business": ("business_id", "view"),
    "record_snapshot": ("type", "post_id", "observed_at"),
    "compute_reward": (),
    "update_policy": ("post_id",),
}
_EXPECTED_STATUS = {"observed_at": (400,)}


def _nested(depth: int, leaf: Any, as_list: bool) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if as_list else {"a": value}
    return value


@st.composite
def bad_body(draw: st.DrawFn, target: str, w: World) -> tuple[bytes, set[str]]:
    """(raw body, the paths a correct 400 may name)."""
    kind = "metrics"
    base = valid_base(target, w, kind)
    fields = bad_fields(target, w)
    how = draw(st.sampled_from(["field", "field", "field", "missing", "extra", "truncated", "deep", "not_object"]))
    if how == "missing" and not REQUIRED[target]:
        how = "field"
    if how == "field":
        name = draw(st.sampled_from(sorted(fields)))
        value = draw(fields[name])
        body = {**base, name: value}
        if target == "compute_reward" and name == "sweep" and value is False:
            return dumps(body), {WHOLE}  # neither post_id nor sweep: the whole body is wrong
        return dumps(body), {name}
    if how == "missing":
        name = draw(st.sampled_from(REQUIRED[target]))
        return dumps({k: v for k, v in base.items() if k != name}), {name}
    if how == "extra":
        allowed = set(base) | set(fields) | {"post_id", "media_id", "posted_at", "deleted_at"}
        key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in allowed))
        return dumps({**base, key: draw(_ANY_JSON)}), {key}
    if how == "truncated":
        text = dumps(base)
        return text[: draw(st.integers(0, len(text) - 1))], {WHOLE}
    if how == "deep":
        name = draw(st.sampled_from(sorted(base)))
        depth = draw(st.integers(64, 20_000))
        nested = _nested(depth, draw(st.integers()), draw(st.booleans()))
        return dumps({**base, name: nested}) if depth < 500 else _deep_raw(base, name, depth), {name, WHOLE}
    raw = draw(st.sampled_from([b"[]", b"null", b"42", b'"post_id"', b"true", b"[{}]", b" ", b"{", b"\xff\xfe{}"]))
    return raw, {WHOLE}


def _deep_raw(base: dict[str, Any], name: str, depth: int) -> bytes:
    """Nesting too deep for json.dumps' recursion, written out directly."""
    text = dumps({**base, name: "@@deep@@"}).decode()
    return text.replace('"@@deep@@"', "[" * depth + "]" * depth).encode()


# -- valid bodies -------------------------------------------------------------------------------

_OFFSETS = st.integers(-14 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))


def aware(lo: datetime, hi: datetime) -> st.SearchStrategy[datetime]:
    """Aware datetimes in [lo, hi], in any UTC offset."""
    span = int((hi - lo).total_seconds() * 1_000_000)
    return st.tuples(st.integers(0, span), _OFFSETS).map(lambda t: (lo + timedelta(microseconds=t[0])).astimezone(t[1]))


def _embedding_good() -> st.SearchStrategy[list[float] | None]:
    return st.one_of(
        st.none(),
        st.just([0.0] * EMBEDDING_DIM),
        st.tuples(st.integers(0, 2**32), st.sampled_from([1e-300, 1e-6, 1.0, 1e6])).map(
            lambda t: [
                float(v) for v in np.clip(np.random.default_rng(t[0]).normal(size=EMBEDDING_DIM) * t[1], -1e6, 1e6)
            ]
        ),
    )


@st.composite
def valid_body(draw: st.DrawFn, target: str, w: World) -> dict[str, Any]:
    if target == "generate_post":
        auto = draw(st.booleans())
        # auto_publish publishes now (within the clock skew); a draft may be scheduled any time.
        earliest = w.now - CLOCK_SKEW if auto else datetime(1970, 1, 1, 15, tzinfo=UTC)
        latest = w.now if auto else datetime(2199, 12, 31, 9, tzinfo=UTC)
        when = draw(st.none() | aware(earliest, latest))
        body: dict[str, Any] = {
            "business_id": w.business,
            "request_id": draw(st.from_regex(r"[A-Za-z0-9._:\-]{1,40}", fullmatch=True)),
            "platform": draw(st.sampled_from(["instagram", "x", "linkedin", "facebook"])),
            "topic": draw(st.text(min_size=1, max_size=300).filter(lambda s: "\x00" not in s)),
            "auto_publish": auto,
        }
        embedding = draw(_embedding_good())
        if embedding is not None:
            body["topic_embedding"] = embedding
        if when is not None:
            body["scheduled_for"] = when.isoformat()
        # A request_id names one request: reused with another platform, topic or schedule it is a
        # 409, so examples that differ there carry different ids (a repeat still repeats the id).
        what = (body["platform"], body["topic"], None if when is None else when.timestamp())
        digest = hashlib.sha256(repr(what).encode()).hexdigest()[:12]
        body["request_id"] = f"{body['request_id'][:27]}-{digest}"
        return body
    if target == "record_snapshot":
        if draw(st.booleans()):
            return {
                "type": "deleted",
                "post_id": w.published,
                # Not before any snapshot drawn here (they are observed by now + 5 min, within the
                # clock skew of this): a deletion dated before a snapshot that saw the post is refused.
                "deleted_at": draw(aware(w.now, w.now + timedelta(minutes=5))).isoformat(),
            }
        observed = draw(aware(w.posted_at, w.now + timedelta(minutes=5)))
        body = {"type": "metrics", "post_id": w.published, "observed_at": observed.isoformat()}
        # Counters are cumulative (a report may not fall below an earlier one of the post), so
        # every example reports the same growth: counter i grows by 10^i a minute (up to ~10^11).
        minutes = max(0, int((observed - w.posted_at).total_seconds() // 60))
        for name in draw(st.sets(st.sampled_from(COUNTER_FIELDS))):
            body[name] = 10 ** COUNTER_FIELDS.index(name) * minutes
        if draw(st.booleans()):
            body["timeslot_hours"] = draw(st.sampled_from([6, 24, 48, 72, 168]))
        return body
    if target == "compute_reward":
        if draw(st.booleans()):
            return {"post_id": draw(st.sampled_from([w.published, w.settled]))}
        return {"sweep": True, "limit": draw(st.integers(1, 100_000))}
    if target == "review_post":
        # Approve and edit, any number of times; a rejection is final (its own tests), so not here.
        if draw(st.booleans()):
            return {"post_id": w.unpublished, "action": "approve"}
        caption = draw(st.text(min_size=1, max_size=300).filter(lambda s: "\x00" not in s))
        return {"post_id": w.unpublished, "action": "edit", "caption": caption}
    if target == "read_business":
        view = draw(st.sampled_from(("posts", "best_times", "preferences")))
        if view == "best_times":
            return {"business_id": w.business, "view": "best_times", "platform": draw(st.sampled_from(PLATFORM_NAMES))}
        if view == "preferences":
            return {"business_id": w.business, "view": "preferences"}
        body = {"business_id": w.business, "view": "posts", "limit": draw(st.integers(1, 200))}
        if draw(st.booleans()):
            body["platform"] = draw(st.sampled_from(PLATFORM_NAMES))
        return body
    if target == "save_profile":
        # New businesses only (no business_id: derived from the name), so the world's own
        # business, which the other targets' examples use, keeps its profile.
        words = st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s)
        body = {"name": draw(words)}
        if draw(st.booleans()):
            body |= {"description": draw(words), "business_types": draw(st.lists(words, max_size=3))}
        if draw(st.booleans()):
            body["time_zone"] = draw(st.sampled_from(["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"]))
        if draw(st.booleans()):
            body["follower_counts"] = draw(
                st.dictionaries(st.sampled_from(["instagram", "x", "linkedin", "facebook"]), st.integers(0, 10**9))
            )
        embedding = draw(_embedding_good())
        if embedding is not None:
            body["embedding"] = embedding
        return body
    return {"post_id": w.settled}
