"""docs/spec.md §7: database constraints back the validation (finite values, array
lengths, counts ≥ 0), so a writer that skipped the API still cannot store
a NaN, a short vector or a negative counter.

State is built through the functions; each statement below must fail with a
CHECK violation and leave every row as it was.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

import psycopg
import pytest

from shared.services.learning import apply_update
from tests.support.functions import at, compute, embedding, generate, metrics, state_digest

CASES = [
    ("decision x of 767 values", "update decisions set x = array_fill(0::float8, array[767])"),
    ("decision x of 769 values", "update decisions set x = x || 0::float8"),
    ("decision x with NaN", "update decisions set x[3] = 'NaN'"),
    ("decision x with Infinity", "update decisions set x[3] = 'Infinity'"),
    ("decision x with a null", "update decisions set x[3] = null"),
    ("decision x two-dimensional", "update decisions set x = array[x, x]"),
    ("joint propensity 0", "update decisions set joint_propensity = 0"),
    ("tau NaN", "update decisions set tau = 'NaN'"),
    ("profile embedding with -Infinity", "update profiles set embedding[1] = '-Infinity'"),
    ("profile embedding of 383 values", "update profiles set embedding = embedding[1:383]"),
    ("negative likes", "update snapshots set likes = -1"),
    ("negative follower_count", "update snapshots set follower_count = -1"),
    ("timeslot 12", "update snapshots set timeslot_hours = 12"),
    ("reward above 1", "update rewards set value = 1.5"),
    ("reward NaN", "update rewards set value = 'NaN'"),
    ("baseline_before Infinity", "update rewards set baseline_before = 'Infinity'"),
    ("theta with NaN", "update policy_theta set theta[5] = 'NaN'"),
    ("theta of 767 values", "update policy_theta set theta = theta[1:767]"),
    ("preference NaN", "update policy_preferences set h = 'NaN'"),
    ("learner array with NaN", "update learner_arrays set data[1] = 'NaN'"),
    ("learner array with a null", "update learner_arrays set data[1] = null"),
    ("learner array two-dimensional", "update learner_arrays set data = array[data, data]"),
    ("learner array part of 201 values", "update learner_arrays set data = array_fill(0::float8, array[201])"),
    ("learner array negative part", "update learner_arrays set part = -1"),
    ("checkpoint part of 201 values", "update learner_statistics set data = array_fill(0::float8, array[201])"),
    ("bandit decision with a tau", "update decisions set tau = 1 where learner = 'bandit'"),
    ("gradient decision without a tau", "update decisions set tau = null where learner = 'gradient'"),
    ("unknown learner", "update decisions set learner = 'vw'"),
    ("baseline Infinity", "update policy_baselines set b = 'Infinity'"),
    ("negative baseline count", "update policy_baselines set n = -1"),
    ("ledger advantage NaN", "update policy_updates set advantage = 'NaN'"),
    ("unknown platform", "update posts set platform = 'tiktok'"),
    ("posted without posted_at", "update posts set posted_at = null"),
    ("negative policy version", "update policy_state set version = -1"),
]


@pytest.fixture
def learned(runtime, functions, make_profile, clock):
    """Two posts through the whole loop (decision, snapshot, computed reward, applied update),
    one with each learner, so H, θ and the bandit's arrays all have rows."""
    bid = make_profile()
    posts = []
    for i, learner in enumerate(("gradient", "bandit")):
        runtime.params = replace(runtime.params, learner=learner)
        posts.append(generate(functions, bid, f"p{i}", "linkedin", topic_embedding=embedding(4), auto_publish=True))
    clock.set(at(24))
    for i, learner in enumerate(("gradient", "bandit")):
        post = posts[i]["post_id"]
        metrics(functions, post, at(24), likes=50, comments=5, follower_count=8000)
        assert compute(functions, {"post_id": post})["outcome"] == "final"
        runtime.params = replace(runtime.params, learner=learner)
        outcome = apply_update(runtime.db, UUID(post), at(24), runtime.params, space=runtime.space, group=1)
        assert outcome.applied
    return [p["post_id"] for p in posts]


@pytest.mark.parametrize(("case", "sql"), CASES, ids=[c[0] for c in CASES])
def test_the_schema_rejects_values_the_api_rejects(runtime, learned, case, sql):
    digest = state_digest(runtime)
    with pytest.raises(psycopg.errors.CheckViolation), runtime.db.transaction() as conn:
        assert conn.execute(sql).rowcount > 0
    assert state_digest(runtime) == digest
