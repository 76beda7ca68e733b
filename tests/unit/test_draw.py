"""The decision's draw in one pass (shared/core/policy.py ``draw``) against the reference:
the per-dimension draw it replaced, written out here. Same logged numbers, same choice,
for every seed, both learners, the holdback arm and π that sums short of 1."""

from __future__ import annotations

import numpy as np
import pytest

from shared.core.action_space import ActionSpace, Dimension
from shared.core.bandit import BanditParams, Decision, Outcome, RidgeIGW
from shared.core.context import CONTEXT_DIM
from shared.core.policy import DimensionChoice, PolicyParams, draw, score_parts, select, softmax, value_layout

SPACE = ActionSpace.load()
# Uneven dimensions, the widest not first: the padded matrix's rows differ in length.
UNEVEN = ActionSpace(
    "uneven",
    (
        Dimension("A", ("a0", "a1"), ("a0", "a1")),
        Dimension("B", tuple(f"b{i}" for i in range(7)), tuple(f"b{i}" for i in range(7))),
        Dimension("C", ("c0", "c1", "c2"), ("c0", "c1", "c2")),
    ),
)


def reference_draw(
    dim: Dimension,
    h: np.ndarray,
    theta_x: np.ndarray,
    pi0: np.ndarray,
    epsilon: float,
    rng: np.random.Generator,
    fixed: str | None,
) -> DimensionChoice:
    """One dimension at a time, as decisions were drawn before the one-pass draw."""
    if fixed is None:
        pi = (1.0 - epsilon) * pi0 + epsilon / pi0.size
        k = min(int(np.searchsorted(np.cumsum(pi), rng.random(), side="right")), len(dim.values) - 1)
    else:
        k = dim.index(fixed)
        pi = np.zeros(len(dim.values))
        pi[k] = 1.0
    return DimensionChoice(
        dimension=dim.name,
        values=dim.values,
        scores=tuple((h + theta_x).tolist()),
        pi0=tuple(pi0.tolist()),
        pi=tuple(pi.tolist()),
        chosen=dim.values[k],
        h=tuple(h.tolist()),
        theta_x=tuple(theta_x.tolist()),
    )


def reference(
    space: ActionSpace,
    h: np.ndarray,
    tx: np.ndarray,
    pi0: np.ndarray,
    epsilon: float,
    seed: int,
    fixed: dict[str, str] | None,
) -> tuple[DimensionChoice, ...]:
    rng = np.random.default_rng(seed)
    blocks = value_layout(space).blocks
    return tuple(
        reference_draw(d, h[b], tx[b], pi0[b], epsilon, rng, None if fixed is None else fixed[d.name])
        for d, b in zip(space.dimensions, blocks, strict=True)
    )


def random_inputs(space: ActionSpace, seed: int, short: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """h, θ·x and π⁰ over all values; with ``short`` > 0 each π⁰ sums to 1 − short."""
    rng = np.random.default_rng(seed)
    n = sum(len(d.values) for d in space.dimensions)
    h, tx = rng.normal(scale=2.0, size=n), rng.normal(size=n)
    pi0 = np.concatenate(
        [softmax(h[b] + tx[b], 0.7) * (1.0 - short) for b in value_layout(space).blocks],
    )
    return h, tx, pi0


@pytest.mark.parametrize("space", [SPACE, UNEVEN], ids=["default", "uneven"])
@pytest.mark.parametrize("epsilon", [0.0, 0.01, 0.3, 1.0])
def test_the_one_pass_draw_is_the_per_dimension_draw(space: ActionSpace, epsilon: float) -> None:
    lay = value_layout(space)
    for seed in range(400):
        h, tx, pi0 = random_inputs(space, seed)
        got, _ = draw(lay, h, tx, pi0, epsilon, np.random.default_rng(seed), None)
        assert got == reference(space, h, tx, pi0, epsilon, seed, None)


@pytest.mark.parametrize("space", [SPACE, UNEVEN], ids=["default", "uneven"])
def test_a_pi_that_sums_short_of_one_falls_to_the_last_value_as_before(space: ActionSpace) -> None:
    # π⁰ summing to 0.5: half of the draws land past every cumulative sum, where both clip.
    lay = value_layout(space)
    lasts = 0
    for seed in range(400):
        h, tx, pi0 = random_inputs(space, seed, short=0.5)
        got, _ = draw(lay, h, tx, pi0, 0.0, np.random.default_rng(seed), None)
        assert got == reference(space, h, tx, pi0, 0.0, seed, None)
        lasts += sum(c.chosen == c.values[-1] for c in got)
    assert lasts > 400 * len(space.dimensions) * 0.4  # the clip was exercised


def test_the_holdback_arm_draws_nothing_and_logs_one_hot_pi() -> None:
    h, tx, pi0 = random_inputs(SPACE, 3)
    fixed = {d.name: d.values[-1] for d in SPACE.dimensions}
    rng = np.random.default_rng(5)
    got, excluded = draw(value_layout(SPACE), h, tx, pi0, 0.01, rng, fixed)
    assert excluded == 0.0
    assert got == reference(SPACE, h, tx, pi0, 0.01, 5, fixed)
    assert rng.random() == np.random.default_rng(5).random()  # the generator was not advanced


def test_the_gradient_learner_selects_as_the_reference_does() -> None:
    rng = np.random.default_rng(11)
    preferences = {pair: float(rng.normal(scale=2.0)) for pair in SPACE.pairs()}
    theta = {pair: rng.normal(scale=0.1, size=CONTEXT_DIM) for pair in SPACE.pairs()}
    params = PolicyParams(tau=0.8, epsilon=0.05, learner="gradient")
    for seed in range(200):
        x = np.random.default_rng(seed).normal(size=CONTEXT_DIM)
        parts = [score_parts(d.values, d.name, preferences, theta, x) for d in SPACE.dimensions]
        h = np.concatenate([p[0] for p in parts])
        tx = np.concatenate([p[1] for p in parts])
        pi0 = np.concatenate([softmax(p[0] + p[1], params.tau) for p in parts])
        got = select(SPACE, preferences, theta, x, params, seed)
        assert got.choices == reference(SPACE, h, tx, pi0, params.epsilon, seed, None)


def test_the_bandit_chooses_from_its_probabilities_as_the_reference_does() -> None:
    rng = np.random.default_rng(2)
    learner = RidgeIGW(SPACE, BanditParams(epsilon=0.02), rank=4)
    outcomes = [
        Outcome(
            Decision(
                "x",
                "morning",
                rng.normal(size=4),
                tuple(int(rng.integers(len(d.values))) for d in SPACE.dimensions),
                "b",
            ),
            float(rng.normal(0.5, 0.2)),
        )
        for _ in range(300)
    ]
    learner.learn(outcomes)
    for seed in range(200):
        comps = np.random.default_rng(seed).normal(size=4)
        got = learner.choose("x", "morning", comps, seed, business="b")
        pis = learner.probabilities("x", "morning", comps, business="b")
        h = np.concatenate([c.h for c in got.choices])
        tx = np.concatenate([c.theta_x for c in got.choices])
        pi0 = np.concatenate([c.pi0 for c in got.choices])
        assert got.choices == reference(SPACE, h, tx, pi0, 0.02, seed, None)
        assert all(c.pi == tuple(p.tolist()) for c, p in zip(got.choices, pis, strict=True))
