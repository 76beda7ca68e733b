"""The variety cap (shared/core/variety.py, docs/variety.md): which recipes a brand's recent
posts forbid, and the draw given that the action is none of them: never an avoided recipe,
each other action as often as its logged propensity says, and the same draws as before when
nothing is avoided."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from shared.core.action_space import ActionSpace, Dimension
from shared.core.policy import PolicyParams, draw, select, softmax, value_layout
from shared.core.variety import VarietyCap, recipes_to_avoid

SPACE = ActionSpace.load()
SMALL = ActionSpace(
    "small",
    (
        Dimension("A", ("a0", "a1"), ("a0", "a1")),
        Dimension("B", ("b0", "b1", "b2"), ("b0", "b1", "b2")),
        Dimension("C", ("c0", "c1"), ("c0", "c1")),
    ),
)


def action(space: ActionSpace, recipe: tuple[int, ...]) -> dict[str, str]:
    return {d.name: d.values[i] for d, i in zip(space.dimensions, recipe, strict=True)}


def test_a_recipe_is_avoided_once_it_reached_the_cap_within_the_window():
    cap = VarietyCap(window=4, max_repeats=2)
    a, b, c = ((0, 0, 0), (1, 2, 1), (0, 1, 0))
    recent = [action(SMALL, r) for r in (a, b, a, c, a, b)]  # newest first
    # The last 3 (the window less the new post): a, b, a. a reached 2; b has 1.
    assert recipes_to_avoid(recent, SMALL, cap) == [a]
    assert recipes_to_avoid(recent, SMALL, VarietyCap(window=0)) == []
    assert recipes_to_avoid(recent, SMALL, VarietyCap(window=7, max_repeats=2)) == sorted([a, b])
    stale = [{"A": "a0", "B": "gone", "C": "c0"}] * 3  # a value the space no longer has
    assert recipes_to_avoid(stale, SMALL, cap) == []


@pytest.mark.parametrize(("window", "repeats"), [(-1, 1), (101, 3), (5, 0), (5, 5)])
def test_a_cap_that_cannot_hold_is_refused(window, repeats):
    with pytest.raises(ValueError):
        VarietyCap(window=window, max_repeats=repeats)


def test_the_capped_draw_never_takes_an_avoided_recipe_and_matches_its_propensities():
    lay = value_layout(SMALL)
    rng = np.random.default_rng(3)
    h = rng.normal(size=7)
    pi0 = np.concatenate([softmax(h[b] * 2.0, 1.0) for b in lay.blocks])
    avoid = [(0, 0, 0), (1, 2, 1), (0, 1, 1)]
    counts: Counter[tuple[int, ...]] = Counter()
    propensity: dict[tuple[int, ...], float] = {}
    n = 30_000
    excluded = 0.0
    for seed in range(n):
        choices, excluded = draw(lay, h, np.zeros(7), pi0, 0.05, np.random.default_rng(seed), None, avoid)
        recipe = tuple(c.values.index(c.chosen) for c in choices)
        counts[recipe] += 1
        propensity[recipe] = math.prod(c.propensity for c in choices) / (1 - excluded)
    pi = [(1 - 0.05) * pi0[b] + 0.05 / (b.stop - b.start) for b in lay.blocks]
    assert excluded == pytest.approx(sum(math.prod(pi[d][r[d]] for d in range(3)) for r in avoid))
    assert not set(avoid) & set(counts)
    assert sum(propensity.values()) == pytest.approx(1.0)  # every other recipe was drawn: they sum to 1
    for recipe in itertools.product(range(2), range(3), range(2)):
        if recipe in avoid:
            continue
        p = propensity[recipe]
        assert abs(counts[recipe] / n - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-4, recipe


def test_nothing_to_avoid_draws_exactly_as_before_and_the_selection_logs_it():
    params = PolicyParams(learner="gradient", epsilon=0.05)
    x = np.random.default_rng(1).normal(size=768)
    for seed in range(50):
        plain = select(SPACE, {}, {}, x, params, seed)
        capped = select(SPACE, {}, {}, x, params, seed, avoid=[])
        assert capped == plain and capped.excluded == 0.0
    recipe = tuple(d.values.index(plain.action[d.name]) for d in SPACE.dimensions)
    avoided = select(SPACE, {}, {}, x, params, 49, avoid=[recipe])
    assert avoided.action != plain.action
    assert 0 < avoided.excluded < 1
    product = math.prod(c.propensity for c in avoided.choices)
    assert avoided.joint_propensity == pytest.approx(product / (1 - avoided.excluded))
