"""What the library learner costs per decision and per update, beside VW squarecb
on the same contexts and machine, and the size of its state (pure, no I/O but
the clock). Part of docs/learning.md, written by ``make bench-learning``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.learners import Choice, Features, Feedback, Learner, VowpalSquareCB, vw_available
from benchmarks.learning_world import World
from shared.core.bandit import BanditParams, Decision, Outcome, RidgeIGW
from shared.core.context import PLATFORMS, TIME_BUCKETS
from shared.core.normaliser import fit_normaliser

RANK = 16
WARM_UP = 2_000  # rewards learned before timing, so the state is a trained one


@dataclass(frozen=True)
class Cost:
    learner: str
    decision_us: float  # p50 of one choice
    update_us: float  # p50 of learning one reward
    update_mean_us: float  # mean of the same (with the occasional settle and fold of P)
    batch_update_us: float | None  # p50 of learning 32 rewards at once, per reward (None: not measured)
    state_bytes: int
    # The vectorised bound: the same scores and inverse-gap weights for 400 decisions in one
    # call, per decision (no per-call overhead, no draw); None: not measured.
    bound_us: float | None = None


def _times(fn: Callable[[int], object], n: int) -> np.ndarray:
    times = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - started)
    return np.array(times) * 1e6


def _p50(fn: Callable[[int], object], n: int) -> float:
    return float(np.median(_times(fn, n)))


def library_cost(world: World, params: BanditParams) -> Cost:
    """RidgeIGW at ``world``'s action space, after WARM_UP rewards of the world's first posts."""
    rng = np.random.default_rng(0)
    xs = np.array([p.x for p in world.posts[:300]])
    normaliser = fit_normaliser(xs, rank=RANK)
    learner = RidgeIGW(world.space, params, rank=RANK)
    posts = world.posts[: WARM_UP + 400]

    def decision(i: int) -> Decision:
        p = posts[i]
        action = tuple(int(rng.integers(len(d.values))) for d in world.space.dimensions)
        return Decision(
            PLATFORMS[p.platform], TIME_BUCKETS[p.time_bucket], normaliser.components(p.x), action, str(p.business)
        )

    warm = [Outcome(decision(i), float(rng.normal(0.5, 0.2))) for i in range(WARM_UP)]
    for i in range(0, WARM_UP, 32):
        learner.learn(warm[i : i + 32])

    # The components are computed outside the timed call, as VW's features are (cached per post).
    later = [
        (PLATFORMS[p.platform], TIME_BUCKETS[p.time_bucket], normaliser.components(p.x), str(p.business))
        for p in posts[WARM_UP:]
    ]

    def choose(i: int) -> None:
        platform, bucket, components, business = later[i % 400]
        learner.choose(platform, bucket, components, i, business=business)

    platforms, buckets = [p for p, _, _, _ in later], [b for _, b, _, _ in later]
    components = np.array([c for _, _, c, _ in later])
    bound = _p50(lambda i: learner.probability_rows(platforms, buckets, components), 20) / len(later)

    more = [Outcome(decision(WARM_UP + i % 400), 0.5) for i in range(400)]
    # 450 single rewards: two settles of P (one every ~220 rewards at forget 0.999) and 14 folds.
    singles = _times(lambda i: learner.learn([more[i % 400]]), 450)
    batch = _p50(lambda i: learner.learn(more[32 * i : 32 * i + 32]), 10) / 32
    state = sum(a.nbytes for a in learner.state().values())
    return Cost(
        "reward model + IGW (shared/core/bandit.py)",
        _p50(choose, 2_000),
        float(np.median(singles)),
        float(singles.mean()),
        batch,
        state,
        bound,
    )


def vw_cost(world: World) -> Cost | None:
    """VW squarecb over the joint actions, fed the same posts (its own feature text included)."""
    if not vw_available():
        return None
    xs = np.array([p.x for p in world.posts[:300]])
    learner: Learner = VowpalSquareCB(world.space, Features(fit_normaliser(xs, rank=RANK)))
    rng = np.random.default_rng(0)
    posts = world.posts[: WARM_UP + 400]
    chosen: list[Choice] = []
    for p in posts[:WARM_UP]:
        chosen.append(learner.choose(p, rng))
    learner.learn([Feedback(p, c, 0.5) for p, c in zip(posts, chosen, strict=False)])
    later = [learner.choose(p, rng) for p in posts[WARM_UP:]]
    decide = _p50(lambda i: learner.choose(posts[WARM_UP + i % 400], rng), 400)
    singles = _times(lambda i: learner.learn([Feedback(posts[WARM_UP + i], later[i], 0.5)]), 400)
    return Cost(
        "VW cb_explore_adf squarecb (joint actions)", decide, float(np.median(singles)), float(singles.mean()), None, 0
    )


def cost_section(world: World, params: BanditParams) -> list[str]:
    costs = [library_cost(world, params)]
    vw = vw_cost(world)
    if vw is not None:
        costs.append(vw)
    rows = [
        "| learner | decision, p50 | update of one reward, p50 | … mean | update of 32 at once, per reward | state |",
        "|---|---|---|---|---|---|",
    ]
    for c in costs:
        state = f"{c.state_bytes / 1e6:.1f} MB" if c.state_bytes else "(in VW's process)"
        rows.append(
            f"| {c.learner} | {c.decision_us:,.0f} µs | {c.update_us:,.0f} µs | {c.update_mean_us:,.0f} µs "
            f"| {'(learns one at a time)' if c.batch_update_us is None else f'{c.batch_update_us:,.0f} µs'} | {state} |"
        )
    if vw is not None:
        rows += ["", f"Per decision the library learner costs {costs[0].decision_us / vw.decision_us:.2f}× VW's."]
    mine = costs[0]
    if mine.bound_us:
        rows += [
            "",
            f"The vectorised bound (the same scores and inverse-gap weights for 400 decisions in one call, per"
            f" decision, without the draw): {mine.bound_us:,.1f} µs; one decision costs"
            f" {mine.decision_us / mine.bound_us:.1f}× it, the difference being numpy's per-call overhead on"
            " arrays of a few dozen values.",
        ]
    return rows
