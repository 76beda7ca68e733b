"""The variety cap through HTTP on real Postgres (docs/variety.md): a brand whose policy is
sure of one recipe still gets no more than its cap of alike posts in a window, each capped
decision logs the probability the cap left out, and its joint propensity is what the action
was drawn with."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any
from uuid import UUID

from shared.core.variety import VarietyCap
from shared.policy_file import PolicyState
from tests.support.functions import embedding, fetch_all, generate
from tests.support.policy_states import install


def sure_of_the_first_recipe(rt) -> None:
    """H strongly for each dimension's first value on x, in every time bucket. The ε floor still
    explores now and then, so the tests' businesses have fixed ids: their decisions' ids, and so
    their draws, are the same on every run (with random ids one failed once in four full runs)."""
    prefs = {
        ("x", bucket, d.name, d.values[0]): 12.0
        for bucket in ("morning", "afternoon", "evening", "night")
        for d in rt.space.dimensions
    }
    install(rt, PolicyState(version=0, steps=10, preferences=prefs), version=1)


def posts(
    runtime, functions, clock, business, n: int, tag: str
) -> list[tuple[tuple[str, ...], float, float, list[Any]]]:
    for i in range(n):
        clock.advance(timedelta(minutes=10))
        generate(
            functions, business, f"{tag}-{i}", "x", topic_embedding=embedding(i), scheduled_for=clock.now().isoformat()
        )
    rows = fetch_all(
        runtime,
        "select d.action, d.joint_propensity, d.excluded, d.choices from decisions d join posts p using (post_id)"
        " where p.business_id = %s order by p.created_at",
        UUID(str(business)),
    )
    space = runtime.space
    return [(tuple(a[d.name] for d in space.dimensions), jp, ex, ch) for a, jp, ex, ch in rows]


def test_a_sure_policy_repeats_its_recipe_no_more_than_the_cap_allows(
    runtime, gradient, functions, clock, make_profile
):
    sure_of_the_first_recipe(runtime)
    capped = make_profile(business_id=UUID(int=301), variety=VarietyCap(window=3, max_repeats=1))
    made = posts(runtime, functions, clock, capped, 9, "capped")
    recipes = [r for r, _, _, _ in made]
    favourite = tuple(d.values[0] for d in runtime.space.dimensions)
    # No recipe twice in any 3 consecutive posts; the favourite whenever the cap lets it.
    for i in range(len(recipes) - 2):
        assert len(set(recipes[i : i + 3])) == 3, recipes
    assert recipes[0] == favourite and recipes.count(favourite) == 3
    for i, (recipe, joint, excluded, choices) in enumerate(made):
        product = math.prod(c["pi"][c["values"].index(c["chosen"])] for c in choices)
        if i == 0:
            assert excluded == 0.0 and joint == product
            continue
        # The recipes of the two posts before were left out, the favourite among them mostly.
        assert 0 < excluded < 1
        assert math.isclose(joint, product / (1 - excluded), rel_tol=1e-12)
        assert recipe not in recipes[max(0, i - 2) : i]


def test_without_a_cap_the_same_policy_repeats_its_recipe(runtime, gradient, functions, clock, make_profile):
    sure_of_the_first_recipe(runtime)
    free = make_profile(business_id=UUID(int=302), variety=VarietyCap(window=0))
    made = posts(runtime, functions, clock, free, 9, "free")
    favourite = tuple(d.values[0] for d in runtime.space.dimensions)
    assert sum(r == favourite for r, _, _, _ in made) >= 7
    assert all(excluded == 0.0 for _, _, excluded, _ in made)


def test_a_window_longer_than_the_default_looks_back_as_far(runtime, gradient, functions, clock, make_profile):
    # 12 posts: 11 looked back at, past the 9 the decision's first read brings.
    sure_of_the_first_recipe(runtime)
    capped = make_profile(business_id=UUID(int=303), variety=VarietyCap(window=12, max_repeats=1))
    recipes = [r for r, _, _, _ in posts(runtime, functions, clock, capped, 13, "long")]
    favourite = tuple(d.values[0] for d in runtime.space.dimensions)
    assert len(set(recipes[:12])) == 12 and len(set(recipes[1:13])) == 12
    assert [i for i, r in enumerate(recipes) if r == favourite] == [0, 12]
