"""Helpers shared by the integration and end-to-end tests: requests through the
HTTP functions, and independent reads of the database to assert on.

The expected values here are written from docs/spec.md §4–§5 directly (not with the
project's own reward or policy code), so a test compares two derivations.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import numpy as np

from tests.support.database import START

# The product's default learning rates (docs/decisions.md explains why not the design note's 0.05 / 0.01).
ALPHA_H = 2.0
ALPHA_THETA = 0.25
BETA = 0.1
SLOT_WEIGHTS = {6: 0.396, 24: 0.258, 48: 0.168, 72: 0.109, 168: 0.071}
ENGAGEMENT = {
    "instagram": {"saves": 3.0, "shares": 2.0, "comments": 1.0, "likes": 0.3},
    "x": {"replies": 3.0, "reposts": 2.0, "likes": 1.0},
    "linkedin": {"comments": 3.0, "shares": 2.0, "likes": 1.0},
    "facebook": {"comments": 3.0, "shares": 2.0, "reactions": 1.0},
}

# Every table of the schema: a digest of all of them is "the whole state".
ALL_TABLES = (
    "profiles",
    "posts",
    "decisions",
    "snapshots",
    "rewards",
    "policy_preferences",
    "policy_theta",
    "policy_baselines",
    "policy_state",
    "policy_updates",
    "outbox",
    "sweep_runs",
    "dead_letters",
    "policy_snapshots",
    "policy_snapshot_preferences",
    "policy_snapshot_theta",
    "policy_snapshot_baselines",
    "policy_snapshot_arrays",
    "learner_arrays",
    "learner_statistics",
    "policy_lifecycle",
    "context_normalisers",
    "business_rates",
    "activity_days",
    "business_activity_days",
    "activity_weeks",
    "business_activity_weeks",
    "evaluations",
    "typical_contexts",
    "slot_rewards",
    "business_slot_rewards",
    "value_rewards",
    "engagement_days",
    "platform_engagement_days",
    "follower_days",
    "standout_posts",
)


def at(hours: float) -> datetime:
    """START plus ``hours``."""
    return START + timedelta(hours=hours)


def embedding(seed: int) -> list[float]:
    return [float(v) for v in np.random.default_rng(seed).normal(size=384)]


def generate(functions, business_id, request_id: str, platform: str = "x", *, expect=(201,), **extra) -> dict[str, Any]:
    body = {"business_id": str(business_id), "request_id": request_id, "platform": platform, "topic": "AI tooling"}
    body.update(extra)
    status, answer = functions.post("generate_post", body)
    assert status in expect, answer
    return dict(answer)


def publish(functions, post_id, posted_at: datetime, media_id: str | None = None) -> dict[str, Any]:
    status, answer = functions.post(
        "record_snapshot",
        {
            "type": "published",
            "post_id": str(post_id),
            "media_id": media_id or f"media-{post_id}",
            "posted_at": posted_at.isoformat(),
        },
    )
    assert status == 200, answer
    return dict(answer)


def metrics(functions, post_id, observed_at: datetime, **fields: Any) -> dict[str, Any]:
    body = {"type": "metrics", "post_id": str(post_id), "observed_at": observed_at.isoformat(), **fields}
    status, answer = functions.post("record_snapshot", body)
    assert status == 200, answer
    return dict(answer)


def compute(functions, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = functions.post("compute_reward", body)
    assert status == 200, answer
    return dict(answer)


def state_digest(rt) -> dict[str, str]:
    """An md5 of every row of every table: equal digests mean nothing changed."""
    with rt.db.transaction() as conn:
        return {
            t: str(
                conn.execute(
                    f"select md5(coalesce(string_agg(r::text, '|' order by r::text), '')) from {t} r"
                ).fetchone()[0]
            )
            for t in ALL_TABLES
        }


def fetch_all(rt, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with rt.db.transaction() as conn:
        return list(conn.execute(sql, params).fetchall())


def fetch_one(rt, sql: str, *params: Any) -> tuple[Any, ...]:
    rows = fetch_all(rt, sql, *params)
    assert len(rows) == 1, rows
    return rows[0]


def reward_row(rt, post_id) -> dict[str, Any]:
    cols = ("status", "value", "components", "baseline_before", "baseline_after", "eligible_at", "finalize_by")
    row = fetch_one(rt, f"select {', '.join(cols)} from rewards where post_id = %s", UUID(str(post_id)))
    return dict(zip(cols, row, strict=True))


def baseline(rt, platform: str) -> tuple[float, int]:
    b, n = fetch_one(rt, "select b, n from policy_baselines where platform = %s", platform)
    return float(b), int(n)


def policy_version(rt) -> int:
    return int(fetch_one(rt, "select version from policy_state")[0])


def outbox_rows(rt) -> list[tuple[str, str, str]]:
    """(task_name, target, status) of every outbox row, sorted by name."""
    return [
        (r[0], r[1], r[2]) for r in fetch_all(rt, "select task_name, target, status from outbox order by task_name")
    ]


def error_paths(answer: Any) -> list[str]:
    return [f["path"] for f in answer["error"].get("fields", [])]


# -- the spec's formulas, written out independently -------------------------------------------


def engagement(platform: str, counters: dict[str, int]) -> float:
    return sum(w * counters.get(name, 0) for name, w in ENGAGEMENT[platform].items())


def expected_reward(
    platform: str, slots: dict[int, dict[str, int]], followers: int, deleted_after_days: float | None = None
) -> float:
    """docs/spec.md §5: R over the given window slots, r_eng, and the deletion penalty."""
    weights = {s: SLOT_WEIGHTS[s] for s in slots}
    big_r = sum(weights[s] * engagement(platform, c) for s, c in slots.items()) / sum(weights.values())
    r_eng = math.tanh(math.log1p(big_r) / math.log1p(max(followers, 1)))
    if deleted_after_days is None:
        return r_eng
    return max(r_eng - 0.7 * math.exp(-deleted_after_days / 3), -1.0)


def decision_of(rt, post_id) -> dict[str, Any]:
    """The stored decision: platform, time bucket, x and the logged choices (with π⁰)."""
    platform, bucket, x, choices, version = fetch_one(
        rt,
        "select platform, time_bucket, x, choices, policy_version from decisions where post_id = %s",
        UUID(str(post_id)),
    )
    return {
        "platform": platform,
        "time_bucket": bucket,
        "x": np.asarray(x, dtype=np.float64),
        "choices": choices,
        "policy_version": int(version),
    }


def expected_step(rt, post_id) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], np.ndarray]]:
    """docs/spec.md §4: the H and θ changes one post's reward makes, from its stored decision and reward."""
    decision = decision_of(rt, post_id)
    reward = reward_row(rt, post_id)
    advantage = reward["value"] - reward["baseline_before"]
    dh: dict[tuple[str, str], float] = {}
    dtheta: dict[tuple[str, str], np.ndarray] = {}
    for choice in decision["choices"]:
        for value, pi0 in zip(choice["values"], choice["pi0"], strict=True):
            g = (1.0 if value == choice["chosen"] else 0.0) - pi0
            dh[(choice["dimension"], value)] = ALPHA_H * advantage * g
            dtheta[(choice["dimension"], value)] = ALPHA_THETA * advantage * g * decision["x"]
    return dh, dtheta


def preferences(rt, platform: str, time_bucket: str) -> dict[tuple[str, str], float]:
    rows = fetch_all(
        rt,
        "select dimension, value, h from policy_preferences where platform = %s and time_bucket = %s",
        platform,
        time_bucket,
    )
    return {(d, v): float(h) for d, v, h in rows}


def thetas(rt) -> dict[tuple[str, str], np.ndarray]:
    return {(d, v): np.asarray(t, dtype=np.float64) for d, v, t in fetch_all(rt, "select * from policy_theta")}


BERLIN = ZoneInfo("Europe/Berlin")


def a_day_of_posts(functions, clock, business, day: int, likes: dict[int, int]) -> None:
    """Posts published the next day at each Berlin hour of ``likes``, their rewards settled a day later."""
    date = (clock.now().astimezone(BERLIN) + timedelta(days=1)).date()
    posted = []
    for hour, n in sorted(likes.items()):
        when = datetime(date.year, date.month, date.day, hour, 5, tzinfo=BERLIN)
        clock.set(when)
        answer = generate(
            functions,
            business,
            f"d{day}-{hour}",
            "linkedin",
            scheduled_for=when.isoformat(),
            topic_embedding=embedding(7),
        )
        publish(functions, answer["post_id"], when)
        posted.append((answer["post_id"], when, n))
    clock.set(posted[-1][1] + timedelta(hours=24))
    for post_id, when, n in posted:
        observed = when + timedelta(hours=24)
        assert metrics(functions, post_id, observed, likes=n, comments=n // 10)["reward"] == "computed"
