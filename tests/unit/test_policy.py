"""Policy math (docs/spec.md §4): softmax, exploration floor, seeded sampling, the gradient."""

from __future__ import annotations

import math
import uuid

import numpy as np
import pytest

from shared.core.action_space import ActionSpace
from shared.core.context import CONTEXT_DIM
from shared.core.policy import (
    DimensionChoice,
    PolicyParams,
    floored,
    fold_baseline,
    gradient,
    scores_for,
    seed_from_id,
    select,
    softmax,
)

SPACE = ActionSpace.load()


def unit_x(seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=CONTEXT_DIM)
    return v / np.linalg.norm(v)


def random_preferences(space: ActionSpace, seed: int, spread: float = 2.0) -> dict[tuple[str, str], float]:
    rng = np.random.default_rng(seed)
    return {pair: float(rng.normal(scale=spread)) for pair in space.pairs()}


def log_softmax_at(scores: list[float], a: int, tau: float) -> float:
    """log softmax(s / τ)[a], written independently of the module (log-sum-exp)."""
    z = [s / tau for s in scores]
    m = max(z)
    return z[a] - m - math.log(sum(math.exp(v - m) for v in z))


def reference_index(scores: list[float], tau: float, epsilon: float, u: float) -> int:
    """Inverse CDF of the floored softmax for one uniform draw u, in plain Python."""
    m = max(scores)
    e = [math.exp((s - m) / tau) for s in scores]
    total = sum(e)
    pi = [(1 - epsilon) * v / total + epsilon / len(scores) for v in e]
    acc = 0.0
    for k, p in enumerate(pi):
        acc += p
        if u < acc:
            return k
    return len(pi) - 1


# --- softmax -----------------------------------------------------------------


def test_softmax_matches_a_hand_computed_example():
    # exp(0) : exp(ln 2) : exp(ln 3) = 1 : 2 : 3
    pi0 = softmax(np.array([0.0, math.log(2), math.log(3)]), 1.0)
    assert pi0 == pytest.approx([1 / 6, 2 / 6, 3 / 6], rel=1e-12)


def test_temperature_divides_the_scores_before_the_softmax():
    # softmax([0, ln 2] / 0.5) = softmax([0, ln 4]) = [1/5, 4/5]
    assert softmax(np.array([0.0, math.log(2)]), 0.5) == pytest.approx([0.2, 0.8], rel=1e-12)
    # τ = 2: softmax([0, ln 4] / 2) = softmax([0, ln 2]) = [1/3, 2/3]
    assert softmax(np.array([0.0, math.log(4)]), 2.0) == pytest.approx([1 / 3, 2 / 3], rel=1e-12)


@pytest.mark.parametrize("shift", [-1e6, -3.5, 0.25, 1e3, 1e6])
def test_softmax_is_invariant_to_a_constant_shift_of_the_scores(shift):
    scores = np.array([1.0, -2.0, 0.5, 3.0, 0.0])
    assert softmax(scores + shift, 1.0) == pytest.approx(softmax(scores, 1.0), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([1e300, -1e300, 0.0], [1.0, 0.0, 0.0]),
        ([1e308, 1e308], [0.5, 0.5]),
        ([1.7e308, -1.7e308], [1.0, 0.0]),
        ([-1e300, -1e300, -1e300, -1e300], [0.25, 0.25, 0.25, 0.25]),
        ([0.0, 800.0, 0.0], [0.0, 1.0, 0.0]),
    ],
)
def test_softmax_is_stable_for_huge_scores(scores, expected):
    pi0 = softmax(np.array(scores), 1.0)
    assert np.all(np.isfinite(pi0))
    assert pi0 == pytest.approx(expected, abs=1e-12)


def test_softmax_is_stable_for_huge_scores_at_a_low_temperature():
    # Finite scores and a valid τ: the result must not be NaN. (s / τ overflows to inf
    # for 1e308 / 0.5, and inf - inf = NaN if the max is subtracted after dividing.)
    pi0 = softmax(np.array([1e308, 1e308, 0.0]), 0.5)
    assert np.all(np.isfinite(pi0))
    assert pi0 == pytest.approx([0.5, 0.5, 0.0], abs=1e-12)


@pytest.mark.parametrize(
    "scores",
    [np.array([]), np.array([[1.0, 2.0]]), np.array([1.0, np.nan]), np.array([np.inf, 0.0]), np.array([-np.inf])],
)
def test_softmax_rejects_empty_multidimensional_or_non_finite_scores(scores):
    with pytest.raises(ValueError):
        softmax(scores, 1.0)


def test_a_lower_temperature_makes_the_policy_sharper():
    scores = np.array([1.0, 2.0, 3.0, 0.0])
    top = [float(softmax(scores, tau)[2]) for tau in (8.0, 2.0, 1.0, 0.5, 0.1)]
    assert top == sorted(top)
    assert top[0] < top[-1]
    entropies = [-float(np.sum(p * np.log(p))) for p in (softmax(scores, tau) for tau in (8.0, 2.0, 1.0, 0.5))]
    assert entropies == sorted(entropies, reverse=True)
    assert softmax(scores, 1e-3)[2] == pytest.approx(1.0)
    assert softmax(scores, 1e6) == pytest.approx([0.25] * 4, abs=1e-5)


# --- exploration floor and selection -----------------------------------------


@pytest.mark.parametrize("epsilon", [0.0, 0.05, 0.3, 1.0])
def test_probabilities_sum_to_one_and_respect_the_exploration_floor(epsilon):
    prefs = {pair: 40.0 * i for i, pair in enumerate(SPACE.pairs())}  # near one-hot softmax
    sel = select(SPACE, prefs, {}, unit_x(), PolicyParams(epsilon=epsilon), seed=7)
    for c in sel.choices:
        n = len(c.values)
        assert sum(c.pi) == pytest.approx(1.0, abs=1e-12)
        assert sum(c.pi0) == pytest.approx(1.0, abs=1e-12)
        assert min(c.pi) >= epsilon / n - 1e-15
        assert c.pi == pytest.approx([(1 - epsilon) * p + epsilon / n for p in c.pi0], abs=1e-15)


def test_the_floor_of_a_one_hot_softmax_is_epsilon_over_the_number_of_values():
    pi = floored(np.array([1.0, 0.0, 0.0, 0.0]), 0.2)
    assert pi == pytest.approx([0.8 + 0.05, 0.05, 0.05, 0.05], abs=1e-15)


def test_propensities_are_the_probabilities_of_the_chosen_values():
    sel = select(SPACE, random_preferences(SPACE, 3), {}, unit_x(), PolicyParams(), seed=11)
    for c in sel.choices:
        assert c.propensity == c.pi[c.values.index(c.chosen)]
        assert sel.action[c.dimension] == c.chosen
    assert sel.joint_propensity == pytest.approx(math.prod(c.propensity for c in sel.choices), rel=1e-12)
    assert sel.seed == 11


def test_select_is_reproducible_for_the_same_seed():
    prefs, x = random_preferences(SPACE, 1), unit_x(1)
    first = select(SPACE, prefs, {}, x, PolicyParams(), seed=12345)
    second = select(SPACE, prefs, {}, x, PolicyParams(), seed=12345)
    assert first == second


def test_select_differs_across_seeds():
    actions = {tuple(select(SPACE, {}, {}, unit_x(), PolicyParams(), seed=s).action.items()) for s in range(20)}
    # 20 draws from a uniform policy over 480 joint actions: nearly all distinct.
    assert len(actions) >= 10


def test_seeded_choices_equal_an_independent_inverse_cdf_reimplementation():
    x = np.zeros(CONTEXT_DIM)
    x[0], x[1] = 0.6, 0.8
    theta_formal = np.zeros(CONTEXT_DIM)
    theta_formal[0], theta_formal[1] = 2.0, -1.0  # θ · x = 1.2 - 0.8 = 0.4
    prefs = {("HOOK_TYPE", "bold_claim"): 1.5, ("HOOK_TYPE", "trendy_topic"): -0.5, ("TONE", "formal"): 0.1}
    theta = {("TONE", "formal"): theta_formal}
    by_hand = {
        "HOOK_TYPE": [0.0, 1.5, 0.0, -0.5, 0.0],
        "LENGTH": [0.0, 0.0],
        "TONE": [0.0, 0.1 + 0.4, 0.0, 0.0],
        "CREATIVITY": [0.0, 0.0, 0.0],
        "TEXT_IN_IMAGE": [0.0, 0.0],
        "VISUAL_STYLE": [0.0, 0.0],
    }
    params = PolicyParams(tau=0.7, epsilon=0.1)
    for seed in range(60):
        rng = np.random.default_rng(seed)
        expected = {}
        for dim in SPACE.dimensions:
            k = reference_index(by_hand[dim.name], params.tau, params.epsilon, rng.random())
            expected[dim.name] = dim.values[k]
        sel = select(SPACE, prefs, theta, x, params, seed)
        assert sel.action == expected
        for c in sel.choices:
            assert c.scores == pytest.approx(by_hand[c.dimension], abs=1e-12)


def test_empirical_frequencies_of_sampled_actions_match_the_policy():
    hooks = SPACE.dimension("HOOK_TYPE").values
    prefs = {("HOOK_TYPE", v): s for v, s in zip(hooks, [0.0, 0.5, 1.0, 1.5, -1.0], strict=True)}
    params = PolicyParams(epsilon=0.05)
    n = 5000
    counts = np.zeros(5)
    pi = None
    for seed in range(n):
        hook = select(SPACE, prefs, {}, unit_x(), params, seed).choices[0]
        pi = np.array(hook.pi)
        counts[hook.chosen_index] += 1
    assert pi is not None
    expected = n * pi
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 18.47  # χ²(4 d.f.) at p = 0.001; the seeds are fixed, so this is deterministic
    assert counts / n == pytest.approx(pi, abs=0.03)


def test_absent_preference_and_theta_rows_count_as_zero():
    x = unit_x(2)
    th = np.full(CONTEXT_DIM, 0.01)
    s = scores_for(("old", "new"), "D", {("D", "old"): 1.0}, {("D", "old"): th}, x)
    assert s[0] == pytest.approx(1.0 + float(th @ x))
    assert s[1] == 0.0
    sel = select(SPACE, {}, {}, x, PolicyParams(), seed=0)
    for c in sel.choices:
        assert c.scores == tuple(0.0 for _ in c.values)
        assert c.pi0 == pytest.approx([1 / len(c.values)] * len(c.values), abs=1e-15)


@pytest.mark.parametrize("shape", [(CONTEXT_DIM - 1,), (384,), (CONTEXT_DIM, 1)])
def test_select_rejects_a_context_of_the_wrong_shape(shape):
    with pytest.raises(ValueError):
        select(SPACE, {}, {}, np.zeros(shape), PolicyParams(), seed=0)


# --- gradient ------------------------------------------------------------------


def test_gradient_equals_the_analytic_softmax_policy_gradient():
    params = PolicyParams(alpha_h=0.05, alpha_theta=0.01)
    sel = select(SPACE, random_preferences(SPACE, 5), {}, unit_x(), params, seed=3)
    advantage = 0.7
    deltas = gradient(sel.choices, advantage, params)
    assert [(d.dimension, d.value) for d in deltas] == SPACE.pairs()
    by_dim = {c.dimension: c for c in sel.choices}
    for d in deltas:
        c = by_dim[d.dimension]
        g = (1.0 if d.value == c.chosen else 0.0) - c.pi0[c.values.index(d.value)]
        assert d.dh == pytest.approx(0.05 * 0.7 * g, rel=1e-12, abs=1e-15)
        assert d.coef == pytest.approx(0.01 * 0.7 * g, rel=1e-12, abs=1e-15)


def make_choice(scores: list[float], chosen: int, tau: float) -> DimensionChoice:
    values = tuple(f"v{i}" for i in range(len(scores)))
    pi0 = softmax(np.array(scores), tau)
    return DimensionChoice(
        dimension="D",
        values=values,
        scores=tuple(scores),
        pi0=tuple(float(p) for p in pi0),
        pi=tuple(float(p) for p in floored(pi0, 0.05)),
        chosen=values[chosen],
    )


@pytest.mark.parametrize("chosen", [0, 2, 4])
def test_gradient_matches_central_finite_differences_of_the_log_softmax(chosen):
    scores = [0.3, -1.2, 0.8, 2.0, -0.1]
    unit_rates = PolicyParams(alpha_h=1.0, alpha_theta=1.0)
    deltas = gradient((make_choice(scores, chosen, 1.0),), 1.0, unit_rates)
    h = 1e-5
    for v, d in enumerate(deltas):
        up, down = list(scores), list(scores)
        up[v] += h
        down[v] -= h
        numeric = (log_softmax_at(up, chosen, 1.0) - log_softmax_at(down, chosen, 1.0)) / (2 * h)
        assert d.dh == pytest.approx(numeric, abs=1e-8)
        assert d.coef == pytest.approx(numeric, abs=1e-8)


@pytest.mark.parametrize("tau", [0.25, 3.0])
def test_gradient_is_tau_times_the_score_derivative_for_other_temperatures(tau):
    scores, chosen = [0.3, -1.2, 0.8, 2.0], 1
    deltas = gradient((make_choice(scores, chosen, tau),), 1.0, PolicyParams(alpha_h=1.0, alpha_theta=1.0, tau=tau))
    h = 1e-6
    for v, d in enumerate(deltas):
        up, down = list(scores), list(scores)
        up[v] += h
        down[v] -= h
        numeric = (log_softmax_at(up, chosen, tau) - log_softmax_at(down, chosen, tau)) / (2 * h)
        assert d.dh / tau == pytest.approx(numeric, abs=1e-7)


def test_gradient_sums_to_zero_over_each_dimension():
    params = PolicyParams()
    sel = select(SPACE, random_preferences(SPACE, 8), {}, unit_x(), params, seed=21)
    deltas = gradient(sel.choices, -0.4, params)
    for dim in SPACE.dimensions:
        mine = [d for d in deltas if d.dimension == dim.name]
        assert len(mine) == len(dim.values)
        assert sum(d.dh for d in mine) == pytest.approx(0.0, abs=1e-15)
        assert sum(d.coef for d in mine) == pytest.approx(0.0, abs=1e-15)
        chosen = next(d for d in mine if d.value == sel.action[dim.name])
        assert chosen.dh < 0  # negative advantage pushes the chosen value down
        assert all(d.dh >= 0 for d in mine if d is not chosen)


def test_a_zero_advantage_changes_nothing():
    sel = select(SPACE, random_preferences(SPACE, 9), {}, unit_x(), PolicyParams(), seed=2)
    assert all(d.dh == 0 and d.coef == 0 for d in gradient(sel.choices, 0.0, PolicyParams()))


@pytest.mark.parametrize("advantage", [math.nan, math.inf, -math.inf])
def test_gradient_rejects_a_non_finite_advantage(advantage):
    sel = select(SPACE, {}, {}, unit_x(), PolicyParams(), seed=0)
    with pytest.raises(ValueError):
        gradient(sel.choices, advantage, PolicyParams())


def test_a_larger_action_space_works_with_select_and_gradient():
    big = ActionSpace.from_dict(
        {
            "version": "big-v1",
            "dimensions": [
                {"name": "HOOK_TYPE", "values": [f"hook_{i}" for i in range(20)]},
                {"name": "TONE", "values": [{"id": f"tone_{i}", "label": f"Tone {i}"} for i in range(20)]},
                {"name": "VISUAL_STYLE", "values": [f"style_{i}" for i in range(24)]},
                {"name": "COMPOSITION", "values": [f"grid_{i}" for i in range(9)]},
            ],
        }
    )
    assert big.size == 20 * 20 * 24 * 9
    rng = np.random.default_rng(4)
    theta = {pair: rng.normal(scale=0.1, size=CONTEXT_DIM) for pair in big.pairs()[::3]}
    params = PolicyParams()
    sel = select(big, random_preferences(big, 4), theta, unit_x(4), params, seed=99)
    big.validate_action(sel.action)
    assert [len(c.pi) for c in sel.choices] == [20, 20, 24, 9]
    assert all(sum(c.pi) == pytest.approx(1.0) and min(c.pi) >= params.epsilon / len(c.pi) - 1e-15 for c in sel.choices)
    assert select(big, random_preferences(big, 4), theta, unit_x(4), params, seed=99) == sel
    deltas = gradient(sel.choices, 0.5, params)
    assert len(deltas) == 20 + 20 + 24 + 9
    assert sum(d.dh for d in deltas) == pytest.approx(0.0, abs=1e-14)


# --- seeds, baseline, parameters ---------------------------------------------------


@pytest.mark.parametrize(
    "decision_id",
    [0, 1, 2**64, 2**127, 2**128 - 1, uuid.UUID("f47ac10b-58cc-4372-a567-0e02b2c3d479").int],
)
def test_seed_from_id_is_a_non_negative_63_bit_int(decision_id):
    seed = seed_from_id(decision_id)
    assert isinstance(seed, int)
    assert 0 <= seed < 2**63
    assert seed_from_id(decision_id) == seed


def test_seed_from_id_separates_distinct_decision_ids():
    ids = [uuid.uuid5(uuid.NAMESPACE_URL, f"decision/{i}").int for i in range(2000)]
    assert len({seed_from_id(i) for i in ids}) == len(ids)


def test_fold_baseline_moves_the_baseline_by_beta_of_the_error():
    assert fold_baseline(0.2, 1.0, 0.1) == pytest.approx(0.2 + 0.1 * 0.8)
    assert fold_baseline(-0.5, 0.3, 1.0) == pytest.approx(0.3)
    b = 0.0
    for _ in range(10):
        b = fold_baseline(b, 0.6, 0.1)
    assert b == pytest.approx(0.6 * (1 - 0.9**10))


def test_default_params_are_the_documented_ones():
    # τ, ε and β as docs/spec.md §4 says; the learning rates as docs/decisions.md says.
    p = PolicyParams()
    assert (p.tau, p.epsilon, p.alpha_h, p.alpha_theta, p.beta) == (1.0, 0.01, 2.0, 0.25, 0.1)


@pytest.mark.parametrize(
    "overrides",
    [
        {"tau": 0.0},
        {"tau": -1.0},
        {"tau": math.nan},
        {"tau": math.inf},
        {"epsilon": -0.01},
        {"epsilon": 1.01},
        {"epsilon": math.nan},
        {"alpha_h": -0.1},
        {"alpha_h": math.nan},
        {"alpha_theta": -1e-9},
        {"alpha_theta": math.inf},
        {"beta": 0.0},
        {"beta": 1.5},
        {"beta": math.nan},
    ],
)
def test_policy_params_reject_invalid_values(overrides):
    with pytest.raises(ValueError):
        PolicyParams(**overrides)


@pytest.mark.parametrize("overrides", [{"epsilon": 0.0}, {"epsilon": 1.0}, {"beta": 1.0}, {"alpha_h": 0.0}])
def test_policy_params_accept_the_edges_of_their_ranges(overrides):
    p = PolicyParams(**overrides)
    assert all(getattr(p, k) == v for k, v in overrides.items())
