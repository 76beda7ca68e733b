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
