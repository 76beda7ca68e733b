"""Exploration controls, holdback and explanations (pure): the ε schedule, the
holdback coin and action, the parts of each score, and the lift intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.config import Settings, parse_action
from shared.core.action_space import ActionSpace
from shared.core.lift import ArmSummary, lift_interval, mean_interval
from shared.core.policy import PolicyParams, baseline_action, epsilon_at, explain, in_holdback, select

SPACE = ActionSpace.load()


def _x(seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=768)
    return v / np.linalg.norm(v)


def _state(seed: int = 1) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], np.ndarray]]:
    rng = np.random.default_rng(seed)
    prefs = {pair: float(rng.normal()) for pair in SPACE.pairs()}
    theta = {pair: rng.normal(size=768) * 0.3 for pair in SPACE.pairs()}
    return prefs, theta


def test_epsilon_is_constant_when_the_schedule_is_off():
    params = PolicyParams(epsilon=0.2)
    assert [epsilon_at(params, n) for n in (0, 10, 10**9)] == [0.2, 0.2, 0.2]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [(0, 0.2), (100, 0.1), (200, 0.05), (300, 0.025), (400, 0.02), (10**6, 0.02)],
)
def test_epsilon_halves_every_half_life_down_to_its_minimum(steps, expected):
    params = PolicyParams(epsilon=0.2, epsilon_half_life=100, epsilon_min=0.02)
    assert epsilon_at(params, steps) == pytest.approx(expected, rel=1e-15)


def test_epsilon_never_rises_above_its_start_when_the_minimum_is_higher():
    assert epsilon_at(PolicyParams(epsilon=0.01, epsilon_half_life=5, epsilon_min=0.05), 50) == 0.01


@pytest.mark.parametrize(
    ("field", "value"),
    [("epsilon_half_life", -1.0), ("epsilon_min", 1.5), ("holdback_share", 1.0), ("holdback_share", -0.1)],
)
def test_bad_schedule_and_holdback_settings_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        PolicyParams(**{field: value})


def test_the_holdback_coin_is_reproducible_from_the_seed_and_has_the_asked_rate():
    seeds = range(20_000)
    coins = [in_holdback(s, 0.1) for s in seeds]
    assert coins == [in_holdback(s, 0.1) for s in seeds]
    assert abs(sum(coins) / len(coins) - 0.1) < 0.01
    assert not any(in_holdback(s, 0.0) for s in range(1000))
    # Its own stream: not the first uniform the action draw uses.
    first_draws = [np.random.default_rng(s).random() < 0.1 for s in seeds]
    assert coins != first_draws


def test_the_baseline_action_is_the_first_values_unless_overridden():
    assert baseline_action(SPACE) == {d.name: d.values[0] for d in SPACE.dimensions}
    chosen = baseline_action(SPACE, (("TONE", "educational"), ("LENGTH", "medium")))
    assert chosen["TONE"] == "educational" and chosen["LENGTH"] == "medium" and chosen["HOOK_TYPE"] == "question"
    with pytest.raises(ValueError, match="not a dimension"):
        baseline_action(SPACE, (("COLOUR", "red"),))
    with pytest.raises(ValueError, match="not a value"):
        baseline_action(SPACE, (("TONE", "sarcastic"),))


def test_the_holdback_action_setting_parses_pairs():
    assert parse_action(" TONE=casual, LENGTH = short ,") == (("TONE", "casual"), ("LENGTH", "short"))
    assert parse_action("") == ()
    with pytest.raises(ValueError, match="DIMENSION=value"):
        parse_action("TONE")
    assert Settings(policy_holdback_action="TONE=formal").policy_params().holdback_action == (("TONE", "formal"),)


def test_a_fixed_selection_is_one_hot_with_propensity_one_and_keeps_the_policys_scores():
    prefs, theta = _state()
    free = select(SPACE, prefs, theta, _x(), PolicyParams(), seed=5)
    fixed = select(SPACE, prefs, theta, _x(), PolicyParams(), seed=5, fixed=baseline_action(SPACE))
    assert fixed.holdback and not free.holdback
    assert fixed.action == baseline_action(SPACE) and fixed.joint_propensity == 1.0
    for a, b in zip(free.choices, fixed.choices, strict=True):
        assert a.scores == b.scores and a.pi0 == b.pi0 and a.h == b.h and a.theta_x == b.theta_x
        assert sorted(b.pi) == [0.0] * (len(b.values) - 1) + [1.0]


def test_the_parts_of_each_score_add_up_and_explain_the_logged_probabilities():
    prefs, theta = _state()
    x = _x(3)
    params = PolicyParams(tau=0.7, epsilon=0.1)
    sel = select(SPACE, prefs, theta, x, params, seed=11)
    shown = explain(sel.choices)
    assert shown is not None
    for c in sel.choices:
        for i, v in enumerate(c.values):
            assert c.h[i] == prefs[(c.dimension, v)]
            assert c.theta_x[i] == float(theta[(c.dimension, v)] @ x)
            assert c.scores[i] == c.h[i] + c.theta_x[i]  # exactly: the score is this sum
            assert shown[c.dimension][v] == {
                "h": c.h[i],
                "theta_x": c.theta_x[i],
                "score": c.scores[i],
                "pi0": c.pi0[i],
                "pi": c.pi[i],
            }
        z = [s / params.tau for s in c.scores]
        top = max(z)
        denom = math.fsum(math.exp(v - top) for v in z)
        for i in range(len(c.values)):
            assert abs(math.exp(z[i] - top) / denom - c.pi0[i]) < 1e-12
            assert abs((1 - params.epsilon) * c.pi0[i] + params.epsilon / len(c.values) - c.pi[i]) < 1e-15


def test_decisions_without_parts_have_no_explanation():
    from dataclasses import replace

    sel = select(SPACE, {}, {}, _x(), PolicyParams(), seed=1)
    old = tuple(replace(c, h=(), theta_x=()) for c in sel.choices)
    assert explain(old) is None


def test_mean_intervals_follow_the_normal_formula():
    arm = ArmSummary(n=100, mean=0.2, variance=0.04)
    iv = mean_interval(arm)
    assert iv is not None and iv.estimate == 0.2
    assert iv.low == pytest.approx(0.2 - 1.959963984540054 * 0.02) and iv.high == pytest.approx(0.2 + 0.0391992797)
    assert mean_interval(ArmSummary(0, 0.0, 0.0)) is None
    one = mean_interval(ArmSummary(1, 0.5, 0.0))
    assert one is not None and (one.low, one.high) == (None, None)


def test_the_lift_interval_is_welchs():
    policy, holdback = ArmSummary(400, 0.30, 0.09), ArmSummary(100, 0.20, 0.16)
    iv = lift_interval(policy, holdback)
    assert iv is not None
    half = 1.959963984540054 * math.sqrt(0.09 / 400 + 0.16 / 100)
    assert (
        iv.estimate == pytest.approx(0.1)
        and iv.low == pytest.approx(0.1 - half)
        and iv.high == pytest.approx(0.1 + half)
    )
    assert lift_interval(policy, ArmSummary(0, 0.0, 0.0)) is None
