"""Policy states for the lifecycle tests (export and import, snapshots, rollback): built
with the floats that are hardest to carry, compared bit for bit, installed directly, or
learned through the functions (``learn``)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from shared.policy_file import PolicyState
from shared.store import lifecycle as store
from shared.store import policy as policy_store
from tests.support.functions import embedding, generate, metrics


def bits(a: np.ndarray | float) -> bytes:
    return np.asarray(a, dtype=np.float64).tobytes()


def same_state(a: PolicyState, b: PolicyState) -> bool:
    """Equal bit for bit (so 0.0 and −0.0 differ), version aside."""
    return (
        a.steps == b.steps
        and {k: bits(v) for k, v in a.preferences.items()} == {k: bits(v) for k, v in b.preferences.items()}
        and {k: bits(v) for k, v in a.theta.items()} == {k: bits(v) for k, v in b.theta.items()}
        and {k: (bits(v[0]), v[1]) for k, v in a.baselines.items()}
        == {k: (bits(v[0]), v[1]) for k, v in b.baselines.items()}
    )


def awkward_state(rt, seed: int = 3) -> PolicyState:
    """Random H and θ over the whole space, with the floats JSON gets wrong most easily."""
    rng = np.random.default_rng(seed)
    awkward = [-0.0, 5e-324, -2.2250738585072014e-308, 1e300, 0.1, 1 / 3, -123456.789e-10]
    prefs = {}
    for i, (d, v) in enumerate(rt.space.pairs()):
        for p in ("instagram", "x"):
            prefs[(p, "morning", d, v)] = awkward[i % len(awkward)] if i % 2 else float(rng.normal())
    theta = {}
    for d, v in rt.space.pairs():
        row = rng.normal(size=768) * 10.0 ** rng.integers(-8, 8, size=768)
        row[:7] = awkward
        theta[(d, v)] = row
    baselines = {"instagram": (0.123456789, 7), "x": (-0.0, 0), "linkedin": (1e-17, 3), "facebook": (0.0, 0)}
    return PolicyState(version=0, steps=41, preferences=prefs, theta=theta, baselines=baselines)


def install(rt, state: PolicyState, version: int = 5) -> None:
    with rt.db.transaction() as conn:
        policy_store.lock_version(conn)
        store.write_state(conn, state)
        store.set_version(conn, version, state.steps)


def learn(rt, functions, clock, business_id, n: int, start: int = 0) -> list[str]:
    """n posts published now, their 24 h snapshot, reward and policy update (the clock moves 25 h)."""
    t0 = clock.now()
    posts = [
        generate(
            functions,
            business_id,
            f"r{start + i}",
            "instagram",
            topic_embedding=embedding(start + i),
            auto_publish=True,
        )["post_id"]
        for i in range(n)
    ]
    clock.set(t0 + timedelta(hours=25))
    for i, post in enumerate(posts):
        observed = t0 + timedelta(hours=24.5)
        metrics(functions, post, observed, likes=50 + 40 * ((start + i) % 3), comments=i, saves=2, follower_count=5000)
        status, answer = functions.post("update_policy", {"post_id": post})
        assert status == 200 and answer["applied"] is True, answer
    return posts
