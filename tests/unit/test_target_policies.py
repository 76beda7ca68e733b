"""Target policies for off-policy evaluation: the product's softmax, what-ifs as data."""

from __future__ import annotations

import numpy as np
import pytest

from shared.core.action_space import ActionSpace
from shared.core.context import CONTEXT_DIM
from shared.core.normaliser import fit_normaliser
from shared.core.policy import PolicyParams, select
from shared.core.target_policies import LoggedDecision, SoftmaxPolicy, WhatIf, default_what_ifs, what_ifs_from_data

SPACE = ActionSpace.load()


def state(seed: int):
    rng = np.random.default_rng(seed)
    prefs = {pair: float(rng.normal()) for pair in SPACE.pairs()}
    theta = {pair: rng.normal(scale=0.5, size=CONTEXT_DIM) for pair in SPACE.pairs()}
    x = rng.normal(size=CONTEXT_DIM)
    return prefs, theta, x / np.linalg.norm(x)


def test_the_softmax_target_gives_the_probabilities_the_product_samples_from():
    prefs, theta, x = state(1)
    params = PolicyParams(tau=0.7, epsilon=0.1)
    sel = select(SPACE, prefs, theta, x, params, seed=3)
    d = LoggedDecision("linkedin", "morning", x, sel.choices, 0.5)
    target = SoftmaxPolicy("current", {("linkedin", "morning"): prefs}, theta, params.tau, params.epsilon)
    for probs, c in zip(target.probabilities(d), sel.choices, strict=True):
        np.testing.assert_allclose(probs, c.pi, rtol=1e-12)


def test_the_softmax_target_maps_x_through_its_normaliser():
    prefs, theta, x = state(2)
    xs = np.random.default_rng(0).normal(size=(50, CONTEXT_DIM))
    norm = fit_normaliser(xs, rank=4)
    sel = select(SPACE, prefs, theta, norm.apply(x, "x"), PolicyParams(epsilon=0.05), seed=1)
    d = LoggedDecision("x", "night", x, sel.choices, 0.1)
    target = SoftmaxPolicy("current", {("x", "night"): prefs}, theta, 1.0, 0.05, norm)
    for probs, c in zip(target.probabilities(d), sel.choices, strict=True):
        np.testing.assert_allclose(probs, c.pi, rtol=1e-12)


def test_a_what_if_fixes_its_dimension_on_its_platform_only():
    prefs, theta, x = state(3)
    sel = select(SPACE, prefs, theta, x, PolicyParams(), seed=2)
    what_if = WhatIf("question on linkedin", {"HOOK_TYPE": "question"}, platform="linkedin")
    on = what_if.probabilities(LoggedDecision("linkedin", "morning", x, sel.choices, 0.0))
    off = what_if.probabilities(LoggedDecision("x", "morning", x, sel.choices, 0.0))
    assert on[0].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    np.testing.assert_array_equal(off[0], sel.choices[0].pi)
    np.testing.assert_array_equal(on[1], sel.choices[1].pi)  # other dimensions follow the log


def test_a_what_if_naming_an_unknown_value_is_refused():
    prefs, theta, x = state(4)
    sel = select(SPACE, prefs, theta, x, PolicyParams(), seed=2)
    with pytest.raises(ValueError, match="not a value of HOOK_TYPE"):
        WhatIf("bad", {"HOOK_TYPE": "shouting"}).probabilities(LoggedDecision("x", "night", x, sel.choices, 0.0))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "nothing", "fixed": {}}, "fixes no dimension"),
        ({"name": "mars", "platform": "mars", "fixed": {"LENGTH": "short"}}, "unknown platform"),
    ],
)
def test_bad_what_if_data_is_refused(entry, message):
    with pytest.raises(ValueError, match=message):
        what_ifs_from_data([entry])


def test_the_shipped_what_ifs_name_values_of_the_default_action_space():
    what_ifs = default_what_ifs()
    assert any(w.name == "always question hooks on LinkedIn" for w in what_ifs)
    for w in what_ifs:
        for dim, value in w.fixed.items():
            assert value in SPACE.dimension(dim).values


def test_every_target_gives_a_logs_rows_as_it_gives_each_decision():
    """probability_rows (what evaluation computes with) against probabilities (the definition)."""
    from shared.core.bandit import DEFAULT_RANK, BanditParams, Decision, Outcome, RidgeIGW
    from shared.core.target_policies import BanditPolicy, LoggingPolicy, TargetPolicy, UniformPolicy, logged_arrays

    rng = np.random.default_rng(9)
    prefs, theta, _ = state(2)
    params = PolicyParams(tau=0.7, epsilon=0.1)
    normaliser = fit_normaliser(rng.normal(size=(60, CONTEXT_DIM)))
    cells = [("linkedin", "morning"), ("x", "night"), ("instagram", "evening")]
    log = []
    for i in range(60):
        x = rng.normal(size=CONTEXT_DIM)
        platform, bucket = cells[i % 3]
        sel = select(SPACE, prefs, theta, x, params, seed=i)
        log.append(LoggedDecision(platform, bucket, x, sel.choices, float(rng.uniform(-1, 1))))
    learner = RidgeIGW(SPACE, BanditParams(epsilon=0.05), DEFAULT_RANK)
    batch = [
        Outcome(Decision(p, b, normaliser.components(d.x), tuple(c.chosen_index for c in d.choices)), d.reward)
        for d, (p, b) in zip(log, [(d.platform, d.time_bucket) for d in log], strict=True)
    ]
    learner.learn(batch)
    targets: list[TargetPolicy] = [
        LoggingPolicy(),
        UniformPolicy(),
        SoftmaxPolicy("softmax", {c: prefs for c in cells}, theta, 0.5, 0.2, normaliser=normaliser),
        BanditPolicy("bandit", learner, normaliser),
        WhatIf("short on x", {"LENGTH": "short"}, platform="x"),
        *default_what_ifs(),
    ]
    arrays = logged_arrays(log)
    for target in targets:
        rows = target.probability_rows(arrays)
        for i, d in enumerate(log):
            np.testing.assert_allclose(
                rows[i], np.concatenate(target.probabilities(d)), rtol=1e-10, atol=1e-13, err_msg=target.name
            )
