"""The library learner (shared/core/bandit.py): exact propensities, inverse gap weights,
state round trips, per-business isolation, parameter checks."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from shared.core.action_space import ActionSpace
from shared.core.bandit import BanditParams, Decision, Outcome, RidgeIGW, context_features, inverse_gap_weights

SPACE = ActionSpace.load()
RANK = 4


def trained(seed: int = 0, n: int = 400, **params: float | bool) -> RidgeIGW:
    """A learner fed ``n`` rewards from a fixed linear truth (value 0 of every dimension is good)."""
    rng = np.random.default_rng(seed)
    learner = RidgeIGW(SPACE, BanditParams(**params), rank=RANK)  # type: ignore[arg-type]
    batch = []
    for i in range(n):
        action = tuple(int(rng.integers(len(d.values))) for d in SPACE.dimensions)
        comps = rng.normal(size=RANK)
        reward = 0.1 * sum(a == 0 for a in action) + 0.05 * comps[0] * (action[0] == 1) + 0.05 * rng.normal()
        batch.append(Outcome(Decision("instagram", "morning", comps, action, f"b{i % 3}"), reward))
        if len(batch) == 20:
            learner.learn(batch)
            batch = []
    return learner


def test_inverse_gap_weights_follow_the_formula_and_sum_to_one() -> None:
    s = np.array([0.2, 0.5, 0.1, 0.5])
    p = inverse_gap_weights(s, 10.0)
    assert p.sum() == pytest.approx(1.0)
    assert p[0] == pytest.approx(1 / (4 + 10 * 0.3))
    assert p[2] == pytest.approx(1 / (4 + 10 * 0.4))
    assert p[3] == pytest.approx(1 / 4)  # a tie with the argmax: gap 0
    assert p[1] == pytest.approx(1 - p[0] - p[2] - p[3])  # the first argmax takes the rest
    assert np.allclose(inverse_gap_weights(s, 0.0), 0.25)  # γ = 0: uniform


@pytest.mark.parametrize(("scores", "gamma"), [(np.array([]), 1.0), (np.array([1.0, np.nan]), 1.0), (np.ones(2), -1.0)])
def test_inverse_gap_weights_reject_bad_input(scores: np.ndarray, gamma: float) -> None:
    with pytest.raises(ValueError):
        inverse_gap_weights(scores, gamma)


def test_logged_propensities_are_the_frequencies_of_the_draws() -> None:
    learner = trained()
    comps = np.array([1.0, -0.5, 0.2, 0.0])
    first = learner.choose("instagram", "morning", comps, 0, business="b1")
    n = 20_000
    counts = [np.zeros(len(d.values)) for d in SPACE.dimensions]
    joint_hits = 0
    target = first.action
    for seed in range(n):
        sel = learner.choose("instagram", "morning", comps, seed, business="b1")
        for d, c in enumerate(sel.choices):
            counts[d][c.chosen_index] += 1
            assert c.pi == first.choices[d].pi  # the state did not change: the same π every time
        joint_hits += sel.action == target
    for d, c in enumerate(first.choices):
        pi = np.array(c.pi)
        # 5 standard errors of a binomial frequency, per value
        assert np.all(np.abs(counts[d] / n - pi) <= 5 * np.sqrt(pi * (1 - pi) / n) + 1e-9), c.dimension
    joint = first.joint_propensity
    assert abs(joint_hits / n - joint) <= 5 * math.sqrt(joint * (1 - joint) / n)


def test_the_learner_prefers_what_earned_more() -> None:
    learner = trained(n=1000)
    sel = learner.choose("instagram", "morning", np.zeros(RANK), 1)
    for c in sel.choices:
        assert int(np.argmax(c.scores)) == 0, c.dimension
        assert c.pi[0] > 0.5


def test_scores_are_explained_by_their_parts_and_pi_is_floored() -> None:
    params = BanditParams(epsilon=0.1)
    learner = trained(epsilon=0.1)
    sel = learner.choose("x", "night", np.ones(RANK), 7)
    for c in sel.choices:
        assert np.allclose(np.array(c.h) + np.array(c.theta_x), c.scores)
        n = len(c.values)
        assert np.allclose(c.pi, (1 - params.epsilon) * np.array(c.pi0) + params.epsilon / n)
        assert min(c.pi) >= params.epsilon / n


def test_the_same_seed_and_state_give_the_same_action() -> None:
    learner = trained()
    a = learner.choose("linkedin", "evening", np.ones(RANK), 42)
    b = learner.choose("linkedin", "evening", np.ones(RANK), 42)
    assert a == b


def test_holdback_takes_the_fixed_action_with_propensity_one() -> None:
    learner = trained()
    fixed = {d.name: d.values[-1] for d in SPACE.dimensions}
    sel = learner.choose("facebook", "afternoon", np.zeros(RANK), 3, fixed=fixed)
    assert sel.action == fixed and sel.holdback
    assert sel.joint_propensity == 1.0


def test_state_round_trips_to_the_same_choices_and_arrays() -> None:
    learner = trained()
    state = learner.state()
    again = RidgeIGW.from_state(SPACE, learner.params, RANK, state)
    for key, arr in again.state().items():
        assert np.array_equal(arr, state[key]), key
    for seed in range(20):
        comps = np.random.default_rng(seed).normal(size=RANK)
        assert again.choose("x", "morning", comps, seed, business="b2") == learner.choose(
            "x", "morning", comps, seed, business="b2"
        )


def test_state_of_the_wrong_shape_is_refused() -> None:
    state = trained(n=20).state()
    with pytest.raises(ValueError, match="entries"):
        RidgeIGW.from_state(SPACE, BanditParams(), RANK + 1, state)


def test_without_forgetting_or_businesses_the_statistics_do_not_depend_on_how_rewards_are_batched() -> None:
    # With businesses, each residual is taken against the θ of its batch's start, so batching matters there.
    rng = np.random.default_rng(5)
    outcomes = [
        Outcome(
            Decision(
                "x", "night", rng.normal(size=RANK), tuple(int(rng.integers(len(d.values))) for d in SPACE.dimensions)
            ),
            float(rng.normal()),
        )
        for _ in range(60)
    ]
    one = RidgeIGW(SPACE, BanditParams(forget=1.0), rank=RANK)
    one.learn(outcomes)
    many = RidgeIGW(SPACE, BanditParams(forget=1.0), rank=RANK)
    for i in range(0, 60, 7):
        many.learn(outcomes[i : i + 7])
    assert np.allclose(one.precision(), many.precision())
    assert np.allclose(one.state()["b"], many.state()["b"])
    assert one.steps == many.steps == 60


def test_forgetting_discounts_old_evidence() -> None:
    d = Decision("x", "night", np.zeros(RANK), (0, 0, 0, 0, 0, 0))
    keep = RidgeIGW(SPACE, BanditParams(forget=1.0), rank=RANK)
    forget = RidgeIGW(SPACE, BanditParams(forget=0.9), rank=RANK)
    for learner in (keep, forget):
        learner.learn([Outcome(d, 1.0)] * 10)
        learner.learn([Outcome(d, -1.0)] * 10)
    s_keep = keep.choose("x", "night", np.zeros(RANK), 0).choices[0].scores[0]
    s_forget = forget.choose("x", "night", np.zeros(RANK), 0).choices[0].scores[0]
    assert s_forget < s_keep  # the recent −1 rewards weigh more


def test_a_business_own_terms_move_only_its_own_choices() -> None:
    learner = RidgeIGW(SPACE, BanditParams(), rank=RANK)
    humorous = SPACE.dimension("TONE").index("humorous")
    rng = np.random.default_rng(9)
    batch = []
    for _ in range(300):
        action = tuple(int(rng.integers(len(d.values))) for d in SPACE.dimensions)
        reward = 1.0 if action[2] == humorous else 0.0
        batch.append(Outcome(Decision("x", "night", np.zeros(RANK), action, "loud"), reward))
    learner.learn(batch)
    loud = learner.choose("x", "night", np.zeros(RANK), 0, business="loud").choices[2]
    other = learner.choose("x", "night", np.zeros(RANK), 0, business="other").choices[2]
    stranger = learner.choose("x", "night", np.zeros(RANK), 0).choices[2]
    assert other == stranger  # no own terms: the shared model alone
    own = np.array(loud.scores) - np.array(other.scores)
    assert own[humorous] > 0  # the residual of its own rewards, on top of the shared model
    assert np.abs(np.delete(own, humorous)).max() < own[humorous]


@pytest.mark.parametrize(
    "kw",
    [
        {"gamma_scale": 0.0},
        {"epsilon": 1.5},
        {"ridge": 0.0},
        {"forget": 0.0},
        {"forget": 1.1},
        {"pair_ridge": float("inf")},
    ],
)
def test_bad_parameters_are_refused(kw: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BanditParams(**kw)  # type: ignore[arg-type]


def test_context_features_lay_out_platform_bucket_and_components() -> None:
    z = context_features("linkedin", "evening", np.array([0.5, -1.0]), 3)
    assert z.shape == (21 + 3,)
    assert z[0] == 1 and z[1 + 2] == 1 and z[5 + 2 * 4 + 2] == 1
    assert list(z[21:]) == [0.5, -1.0, 0.0]  # shorter components are padded
    with pytest.raises(ValueError):
        context_features("x", "night", np.zeros(4), 3)


def flood(learner: RidgeIGW, rng: np.random.Generator, business: str, n: int, humorous_pays: bool) -> None:
    humorous = SPACE.dimension("TONE").index("humorous")
    batch = []
    for _ in range(n):
        action = tuple(int(rng.integers(len(d.values))) for d in SPACE.dimensions)
        reward = float(action[2] == humorous) if humorous_pays else float(rng.normal(0.3, 0.1))
        batch.append(Outcome(Decision("x", "night", np.zeros(RANK), action, business), reward))
    for i in range(0, n, 50):
        learner.learn(batch[i : i + 50])


def test_one_business_cannot_outweigh_the_others_in_the_shared_model() -> None:
    params = BanditParams(forget=1.0, business_share=1.0, business_floor=50.0)
    capped = RidgeIGW(SPACE, params, rank=RANK)
    uncapped = RidgeIGW(SPACE, BanditParams(forget=1.0, business_share=1e9), rank=RANK)
    for learner in (capped, uncapped):
        rng = np.random.default_rng(11)
        for name in ("a", "b", "c"):
            flood(learner, rng, name, 100, humorous_pays=False)
        flood(learner, rng, "mallory", 3000, humorous_pays=True)  # rewards only when humorous
    state = capped.state()
    others = sum(state[f"business/{n}/weight"][0] for n in ("a", "b", "c"))
    assert others == pytest.approx(300.0)
    # Bounded: its weight stops at share × the others' + floor.
    assert state["business/mallory/weight"][0] == pytest.approx(1.0 * others + 50.0)
    humorous = SPACE.dimension("TONE").index("humorous")
    p_capped = capped.choose("x", "night", np.zeros(RANK), 0, business="a").choices[2].pi[humorous]
    p_uncapped = uncapped.choose("x", "night", np.zeros(RANK), 0, business="a").choices[2].pi[humorous]
    assert p_capped < p_uncapped
    # Mallory's own terms still learn what pays for her.
    own = capped.choose("x", "night", np.zeros(RANK), 0, business="mallory").choices[2]
    assert (
        own.scores[humorous] > capped.choose("x", "night", np.zeros(RANK), 0, business="a").choices[2].scores[humorous]
    )


def test_a_balanced_audience_is_never_capped() -> None:
    learner = RidgeIGW(SPACE, BanditParams(), rank=RANK)
    rng = np.random.default_rng(12)
    for _ in range(5):
        for name in ("a", "b", "c", "d"):
            flood(learner, rng, name, 200, humorous_pays=False)
    state = learner.state()
    weights = [state[f"business/{n}/weight"][0] for n in "abcd"]
    assert state["meta"][1] == pytest.approx(sum(weights))
    # Forgetting discounts every weight alike (γ^50 before each batch of 50); nothing was cut.
    expected = sum(50 * 0.999 ** (50 * k) for k in range(80))
    assert state["meta"][1] == pytest.approx(expected, rel=1e-9)


def stream(learner: RidgeIGW, rng: np.random.Generator, n: int, good: int) -> None:
    """n rewards, in batches of 25, from an audience where value ``good`` of the hook pays 0.4 more."""
    batch = []
    for _ in range(n):
        sel = learner.choose("x", "night", np.zeros(RANK), int(rng.integers(2**62)))
        action = tuple(c.chosen_index for c in sel.choices)
        reward = 0.2 + 0.4 * (action[0] == good) + float(rng.normal(0, 0.1))
        batch.append(Outcome(Decision("x", "night", np.zeros(RANK), action), reward))
        if len(batch) == 25:
            learner.learn(batch)
            batch = []


def test_a_change_of_tastes_is_detected_and_old_evidence_cut() -> None:
    learner = RidgeIGW(SPACE, BanditParams(shift_threshold=6.0, gamma_by_evidence=True), rank=RANK)
    rng = np.random.default_rng(21)
    stream(learner, rng, 3000, good=0)
    assert learner.shifts == 0  # a steady audience raises no alarm
    before = learner.total_weight
    stream(learner, rng, 200, good=3)  # the hook that paid stops paying
    assert learner.shifts >= 1
    assert learner.total_weight < 0.5 * before
    stream(learner, rng, 1500, good=3)
    hook = learner.choose("x", "night", np.zeros(RANK), 5).choices[0]
    assert int(np.argmax(hook.pi)) == 3


def test_without_a_threshold_nothing_is_ever_cut() -> None:
    learner = RidgeIGW(SPACE, BanditParams(shift_threshold=0.0), rank=RANK)
    rng = np.random.default_rng(22)
    stream(learner, rng, 1500, good=0)
    stream(learner, rng, 300, good=3)
    assert learner.shifts == 0


def test_state_round_trips_after_a_cut_that_spared_no_business() -> None:
    learner = RidgeIGW(SPACE, BanditParams(shift_threshold=6.0), rank=RANK)
    rng = np.random.default_rng(23)
    for name in ("a", "b", "c"):
        flood(learner, rng, name, 400, humorous_pays=False)
    learner._cut_evidence(0.1)  # as a detected change does, between batches
    flood(learner, rng, "b", 50, humorous_pays=False)  # a batch of one business only
    again = RidgeIGW.from_state(SPACE, learner.params, RANK, learner.state())
    for name in ("a", "b", "c"):
        for seed in range(5):
            assert again.choose("x", "night", np.zeros(RANK), seed, business=name) == learner.choose(
                "x", "night", np.zeros(RANK), seed, business=name
            )


def test_a_business_own_evidence_forgets_while_others_post() -> None:
    learner = RidgeIGW(SPACE, BanditParams(forget=0.99), rank=RANK)
    rng = np.random.default_rng(24)
    flood(learner, rng, "quiet", 100, humorous_pays=True)
    own_before = learner.state()["business/quiet/b"].copy()
    flood(learner, rng, "busy", 100, humorous_pays=False)
    own_after = learner.state()["business/quiet/b"]
    assert np.allclose(own_after, own_before * 0.99**100)


def test_an_action_outside_the_space_is_refused() -> None:
    learner = RidgeIGW(SPACE, BanditParams(), rank=RANK)
    too_big = tuple(len(d.values) for d in SPACE.dimensions)
    for action in (too_big, (0, 0, 0), (-1, 0, 0, 0, 0, 0)):
        with pytest.raises(ValueError, match="does not fit"):
            learner.learn([Outcome(Decision("x", "night", np.zeros(RANK), action), 0.5)])
    assert learner.steps == 0


def test_a_learner_loaded_from_its_solution_chooses_as_the_whole_one_and_cannot_learn() -> None:
    learner = trained(n=120)
    state = learner.state()
    for business in (None, "b1"):
        names = RidgeIGW.solution_names(business)
        solution = {k: state[k].ravel() for k in names if k in state}
        chooser = RidgeIGW.from_state(SPACE, learner.params, RANK, solution)
        for seed in range(20):
            whole = learner.choose("x", "morning", np.ones(RANK) * 0.3, seed, business=business)
            light = chooser.choose("x", "morning", np.ones(RANK) * 0.3, seed, business=business)
            assert whole == light
    with pytest.raises(ValueError, match="choose, not learn"):
        chooser.learn([Outcome(Decision("x", "morning", np.zeros(RANK), (0,) * len(SPACE.dimensions)), 1.0)])


def test_probabilities_are_what_choose_draws_from() -> None:
    learner = trained(n=120)
    components = np.linspace(-1, 1, RANK)
    pis = learner.probabilities("linkedin", "evening", components, "b1")
    chosen = learner.choose("linkedin", "evening", components, 5, business="b1")
    for pi, c in zip(pis, chosen.choices, strict=True):
        assert np.allclose(pi, c.pi)


def test_forgetting_the_context_equals_having_seen_components_zero() -> None:
    rng = np.random.default_rng(3)
    outcomes = []
    for _ in range(80):
        action = tuple(int(rng.integers(len(d.values))) for d in SPACE.dimensions)
        outcomes.append(Outcome(Decision("x", "morning", rng.normal(size=RANK), action), float(rng.normal())))
    seen = RidgeIGW(SPACE, BanditParams(forget=1.0, per_business=False), rank=RANK)
    seen.learn(outcomes)
    seen.forget_context()
    blind = RidgeIGW(SPACE, BanditParams(forget=1.0, per_business=False), rank=RANK)
    blind.learn([Outcome(replace(o.decision, components=np.zeros(RANK)), o.reward) for o in outcomes])
    assert np.allclose(seen.precision(), blind.precision())
    assert np.allclose(seen.state()["theta"], blind.state()["theta"])


def naive_ridge(learner: RidgeIGW, batches: list[list[Outcome]]) -> tuple[np.ndarray, np.ndarray]:
    """A and b by the documented formulas, with dense F×F arithmetic and no shortcut:
    A ← γⁿ A + (1 − γⁿ) Λ + Σ φ φᵀ, b ← γⁿ b + Σ r φ (one weight per reward: no businesses)."""
    n = learner.n_features
    prior = np.diag(learner._prior)
    a, b = prior.copy(), np.zeros(n)
    for batch in batches:
        keep = learner.params.forget ** len(batch)
        a, b = keep * a + (1 - keep) * prior, keep * b
        for o in batch:
            z = context_features(o.decision.platform, o.decision.time_bucket, o.decision.components, learner.rank)
            idx, val = learner._phi(z, o.decision.action)
            phi = np.zeros(n)
            phi[idx] = val
            a += np.outer(phi, phi)
            b += o.reward * phi
    return a, b


@pytest.mark.parametrize("sizes", [(1,) * 300, (32,) * 12, (1, 7, 32, 3) * 10])
def test_the_kept_inverse_gives_the_documented_ridge_through_settles(sizes: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(sizes))
    learner = RidgeIGW(SPACE, BanditParams(forget=0.995, per_business=False, shift_threshold=0.0), rank=RANK)
    batches = []
    for size in sizes:
        batch = [
            Outcome(
                Decision(
                    str(rng.choice(["x", "linkedin", "instagram"])),
                    "evening",
                    rng.normal(size=RANK),
                    tuple(int(rng.integers(len(d.values))) for d in SPACE.dimensions),
                ),
                float(rng.normal(0.3, 0.5)),
            )
            for _ in range(size)
        ]
        learner.learn(batch)
        batches.append(batch)
    a, b = naive_ridge(learner, batches)
    assert learner.state()["p_terms"][0] <= 0.2  # settled along the way (γ = 0.995 owes 0.2 after ~45 rewards)
    assert np.allclose(learner.precision(), a, rtol=1e-9, atol=1e-8)
    assert np.allclose(learner.state()["b"], b, rtol=1e-9, atol=1e-10)
    exact = np.linalg.solve(a, b)
    assert np.allclose(learner.state()["theta"], exact, rtol=0, atol=1e-8 * np.abs(exact).max())


def test_a_state_saved_with_the_precision_is_read_and_learns_on() -> None:
    learner = trained(n=300)
    state = learner.state()
    old = {k: v for k, v in state.items() if k not in ("p", "p_terms")} | {"a": learner.precision()}
    again = RidgeIGW.from_state(SPACE, learner.params, RANK, old)
    assert not again.choose_only
    for seed in range(10):
        assert again.choose("x", "morning", np.zeros(RANK), seed, business="b1") == learner.choose(
            "x", "morning", np.zeros(RANK), seed, business="b1"
        )
    more = [Outcome(Decision("x", "morning", np.ones(RANK), (1, 0, 2, 0, 1, 0), "b1"), 0.9)] * 5
    learner.learn(more)
    again.learn(more)
    assert np.allclose(again.state()["theta"], learner.state()["theta"], rtol=1e-8, atol=1e-10)


def test_p_terms_out_of_range_are_refused() -> None:
    state = trained(n=40).state()
    with pytest.raises(ValueError, match="p_terms"):
        RidgeIGW.from_state(SPACE, BanditParams(), RANK, state | {"p_terms": np.array([1.5, 1.0])})


def test_a_state_learned_without_the_intercept_is_read_with_it_and_chooses_the_same() -> None:
    rng = np.random.default_rng(9)
    old_params = BanditParams(intercept=False)
    old = RidgeIGW(SPACE, old_params, rank=RANK)
    outcomes = [
        Outcome(
            Decision(
                "x",
                "night",
                rng.normal(size=RANK),
                tuple(int(rng.integers(len(d.values))) for d in SPACE.dimensions),
                "b1",
            ),
            float(rng.normal(0.5, 0.2)),
        )
        for _ in range(90)
    ]
    old.learn(outcomes[:45])
    old.learn(outcomes[45:50])  # leaves updates pending, and some prior owed
    state = old.state()
    assert state["p_terms"][0] > 0 and state["p_pending"].size > 0
    new = RidgeIGW.from_state(SPACE, BanditParams(), RANK, state)
    assert new.n_features == old.n_features + 5 and new.fits(state)
    for seed in range(10):
        comps = rng.normal(size=RANK)
        assert new.choose("x", "night", comps, seed, business="b1") == old.choose(
            "x", "night", comps, seed, business="b1"
        )
    expected = np.diag(new._layout.prior)
    expected[: old.n_features, : old.n_features] = old.precision()
    assert np.allclose(new.precision(), expected, rtol=1e-9, atol=1e-9)
    new.learn(outcomes[50:])  # and it learns on
    assert new.steps == 90
    solution_only = {k: state[k] for k in RidgeIGW.solution_names("b1")}
    chooser = RidgeIGW.from_state(SPACE, BanditParams(), RANK, solution_only)
    assert chooser.choose("x", "night", np.zeros(RANK), 3, business="b1") == old.choose(
        "x", "night", np.zeros(RANK), 3, business="b1"
    )


@pytest.mark.parametrize("pairs", [True, False])
def test_probabilities_of_many_contexts_at_once_are_each_contexts_probabilities(pairs: bool) -> None:
    """The vectorised π of off-policy evaluation against the one-context reference."""
    learner = trained(seed=3, pairs=pairs)
    rng = np.random.default_rng(5)
    platforms = [("instagram", "x", "linkedin")[i % 3] for i in range(200)]
    buckets = [("morning", "afternoon", "evening", "night")[i % 4] for i in range(200)]
    comps = rng.normal(scale=2.0, size=(200, RANK))
    rows = learner.probability_rows(platforms, buckets, comps)
    assert rows.shape == (200, sum(len(d.values) for d in SPACE.dimensions))
    for i in range(200):
        expected = np.concatenate(learner.probabilities(platforms[i], buckets[i], comps[i]))
        np.testing.assert_allclose(rows[i], expected, rtol=1e-10, atol=1e-13)
    # Not a constant: the contexts move π.
    assert np.ptp(rows[:, 0]) > 1e-3
