"""Off-policy estimators (IPS, SNIPS, DR), importance weights, ESS, bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.core.context import CONTEXT_DIM, PLATFORMS, TIME_BUCKETS
from shared.core.off_policy import Estimate, effective_sample_size, evaluate, importance_weights
from shared.core.policy import DimensionChoice
from shared.core.target_policies import LoggedDecision, LoggingPolicy, UniformPolicy, WhatIf, logged_arrays

HOOKS = ("question", "bold_claim", "relatable_pain")
LENGTHS = ("short", "medium")


def logged(n: int, seed: int, reward_of=None) -> list[LoggedDecision]:
    """Decisions logged by a fixed non-uniform policy; by default the reward is
    0.8 for a question hook and 0.2 otherwise, plus noise."""
    rng = np.random.default_rng(seed)
    pi_hook, pi_len = (0.2, 0.5, 0.3), (0.7, 0.3)
    out = []
    for _ in range(n):
        h = int(rng.choice(3, p=pi_hook))
        ln = int(rng.choice(2, p=pi_len))
        x = rng.normal(size=CONTEXT_DIM)
        choices = (
            DimensionChoice("HOOK_TYPE", HOOKS, (0.0,) * 3, pi_hook, pi_hook, HOOKS[h]),
            DimensionChoice("LENGTH", LENGTHS, (0.0,) * 2, pi_len, pi_len, LENGTHS[ln]),
        )
        r = (0.8 if h == 0 else 0.2) if reward_of is None else reward_of(h, ln)
        out.append(
            LoggedDecision(
                PLATFORMS[int(rng.integers(4))],
                TIME_BUCKETS[int(rng.integers(4))],
                x / np.linalg.norm(x),
                choices,
                r + float(rng.normal(scale=0.1)),
            )
        )
    return out


def by_key(estimates: list[Estimate]) -> dict[tuple[str, str], Estimate]:
    return {(e.policy, e.estimator): e for e in estimates}


def test_the_logging_policy_is_estimated_by_the_mean_reward_with_every_sample_effective():
    log = logged(400, seed=1)
    est = by_key(evaluate(log, [LoggingPolicy()], np.random.default_rng(0), n_boot=200))
    mean = float(np.mean([d.reward for d in log]))
    assert est[("logging policy (as run)", "IPS")].value == pytest.approx(mean)
    assert est[("logging policy (as run)", "SNIPS")].value == pytest.approx(mean)
    assert est[("logging policy (as run)", "IPS")].ess == pytest.approx(400)


def test_always_question_is_estimated_near_its_true_value_by_every_estimator():
    log = logged(3000, seed=2)
    target = WhatIf("always question", {"HOOK_TYPE": "question"})
    for e in evaluate(log, [target, UniformPolicy()], np.random.default_rng(0), n_boot=300):
        truth = 0.8 if e.policy == "always question" else (0.8 + 0.2 + 0.2) / 3
        assert e.ci_low <= truth <= e.ci_high, e
        assert abs(e.value - truth) < 0.05, e
        assert e.ci_low < e.value < e.ci_high


def test_what_if_weights_are_zero_off_the_fixed_value_and_one_over_its_propensity_on_it():
    log = logged(50, seed=3)
    w, _ = importance_weights(logged_arrays(log), WhatIf("short", {"LENGTH": "short"}))
    for d, wi in zip(log, w, strict=True):
        expected = 1 / 0.7 if d.choices[1].chosen == "short" else 0.0
        assert wi == pytest.approx(expected)


def test_a_what_if_on_one_platform_leaves_the_other_platforms_weight_one():
    log = logged(200, seed=4)
    w, _ = importance_weights(logged_arrays(log), WhatIf("short on x", {"LENGTH": "short"}, platform="x"))
    others = [wi for d, wi in zip(log, w, strict=True) if d.platform != "x"]
    assert others and all(wi == 1.0 for wi in others)


def test_doubly_robust_with_an_additive_reward_is_tighter_than_ips():
    log = logged(2000, seed=5, reward_of=lambda h, ln: 0.3 + 0.4 * (h == 0) + 0.2 * (ln == 1))
    est = by_key(evaluate(log, [UniformPolicy()], np.random.default_rng(1), n_boot=300))
    ips, dr = est[("uniform random", "IPS")], est[("uniform random", "DR")]
    assert dr.ci_high - dr.ci_low < 0.5 * (ips.ci_high - ips.ci_low)


def test_the_effective_sample_size_counts_equal_weights_and_ignores_zeros():
    assert effective_sample_size(np.array([1.0, 1.0, 0.0, 0.0])) == pytest.approx(2.0)
    assert effective_sample_size(np.array([4.0, 0.0, 0.0, 0.0])) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"level": 1.0}, "level"), ({"n_boot": 5}, "n_boot")],
)
def test_bad_arguments_are_refused_with_the_argument_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        evaluate(logged(20, seed=6), [UniformPolicy()], np.random.default_rng(0), **kwargs)


def test_too_few_decisions_are_refused():
    with pytest.raises(ValueError, match="at least"):
        evaluate(logged(3, seed=7), [UniformPolicy()], np.random.default_rng(0))


def test_the_same_seed_gives_the_same_estimates():
    log = logged(100, seed=8)
    a = evaluate(log, [UniformPolicy()], np.random.default_rng(5), n_boot=50)
    b = evaluate(log, [UniformPolicy()], np.random.default_rng(5), n_boot=50)
    assert a == b


def test_intervals_stay_within_the_reward_range_though_a_small_logs_ips_may_not():
    # Rewards near 1 and a target that always takes the rarest hook (logged with 0.2):
    # weights of 5 make IPS's bootstrap reach far above 1, which no policy can earn.
    log = logged(40, seed=4, reward_of=lambda h, ln: 0.95)
    target = WhatIf("always question", {"HOOK_TYPE": "question"})
    est = by_key(evaluate(log, [target], np.random.default_rng(0), n_boot=300))
    ips = est[("always question", "IPS")]
    assert -1.0 <= ips.ci_low <= ips.ci_high <= 1.0
    assert ips.ci_high == 1.0  # cut: the raw percentile was above 1
    for e in est.values():
        assert -1.0 <= e.ci_low <= e.ci_high <= 1.0


def test_a_decision_the_variety_cap_shaped_is_weighted_by_its_logged_joint_propensity():
    log = logged(40, seed=6)
    excluded = 0.25  # the cap left out recipes worth a quarter of π: each kept action is 4/3 as likely
    capped = [
        LoggedDecision(
            d.platform,
            d.time_bucket,
            d.x,
            d.choices,
            d.reward,
            propensity=math.prod(c.propensity for c in d.choices) / (1 - excluded),
        )
        for d in log
    ]
    plain, _ = importance_weights(logged_arrays(log), UniformPolicy())
    shaped, _ = importance_weights(logged_arrays(capped), UniformPolicy())
    np.testing.assert_allclose(shaped, plain * (1 - excluded))
    as_run, _ = importance_weights(logged_arrays(capped), LoggingPolicy())
    assert np.all(as_run == 1.0)  # the logging policy drew each action with its logged propensity
