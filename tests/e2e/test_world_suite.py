"""The learning benchmark's world suite: each world has the property it is named
for, and tuning never touches a held-out world."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import learning_sweep
from benchmarks.learners import Bandit, Uniform
from benchmarks.learning_runs import run
from benchmarks.suite import suite_world
from benchmarks.worlds import HELD_OUT_SEEDS, SUITE, TUNING_SEEDS, WORLDS, WorldSpec
from shared.core.bandit import BanditParams


def interaction_contrast(world_name: str) -> float:
    """Largest |E[r](v, w) − E[r](v, w') − E[r](v', w) + E[r](v', w')| over TONE × HOOK_TYPE values,
    other dimensions at their first value, in one context: 0 for an additive log rate."""
    world = suite_world(world_name, 1, 14, businesses=2)
    audience = world.audience
    post = world.posts[0]
    mu = audience.mean_log_rate(audience.businesses[post.business], audience.topics[post.topic], "instagram", "morning")
    names = [d.name for d in world.space.dimensions]
    tone, hook = names.index("TONE"), names.index("HOOK_TYPE")
    rest = [i for i in range(len(names)) if i not in (tone, hook)]
    mask = np.all(audience.joint[:, rest] == 0, axis=1)
    table = np.zeros((len(world.space.dimensions[tone].values), len(world.space.dimensions[hook].values)))
    for row, a in zip(mu[mask], audience.joint[mask], strict=True):
        table[a[tone], a[hook]] = row
    contrast = table - table[:, :1] - table[:1, :] + table[0, 0]
    return float(np.abs(contrast).max())


def test_the_additive_world_has_no_interactions_and_the_interacting_one_has_them() -> None:
    assert interaction_contrast("additive") < 1e-9
    assert interaction_contrast("interacting") > 0.1


def test_heavy_tailed_worlds_draw_heavier_tails() -> None:
    light = suite_world("additive", 2, 28)
    heavy = suite_world("heavy-tailed", 2, 28)
    z_light = np.array([p.z for p in light.posts])
    z_heavy = np.array([p.z for p in heavy.posts])
    # Both have unit variance; with heavier tails more of it sits far out, so the bulk is narrower.
    assert np.median(np.abs(z_heavy)) < 0.75 * np.median(np.abs(z_light))
    assert heavy.audience.params.noise_sd > light.audience.params.noise_sd


def test_a_traffic_mix_posts_less_on_the_rarer_platforms() -> None:
    world = suite_world("instagram-heavy", 3, 28)
    counts = np.bincount([p.platform for p in world.posts], minlength=4)
    assert counts[0] == 28 * world.config.businesses  # every business on Instagram every day
    assert counts[1] < 0.3 * counts[0]


def test_own_tastes_make_businesses_of_one_kind_differ() -> None:
    for name, expect_same in (("additive", True), ("own-tastes", False)):
        world = suite_world(name, 4, 7, businesses=12)
        a = world.audience
        same_kind = [b for b in a.businesses if b.kind == 0][:2]
        t = a.topics[0]
        mus = [a.mean_log_rate(b, t, "x", "night") for b in same_kind]
        assert np.allclose(mus[0], mus[1]) is expect_same, name


def test_a_gradual_drift_moves_a_step_a_week_and_an_abrupt_one_at_once() -> None:
    gradual = suite_world("gradual-drift", 5, 70)
    abrupt = suite_world("abrupt-drift", 5, 70)
    assert len(gradual.phases) == 5 and len(abrupt.phases) == 2
    # Recovery counts from when the tastes have finished changing.
    assert (gradual.changed_day(), abrupt.changed_day()) == (35 + 21, 35)
    day = {p.day: p for p in gradual.posts}
    assert [gradual.phase(day[d]) for d in (34, 35, 41, 42, 49, 56, 69)] == [0, 1, 1, 2, 3, 4, 4]
    post = gradual.posts[0]
    b, t = gradual.audience.businesses[post.business], gradual.audience.topics[post.topic]
    mus = [ph.mean_log_rate(b, t, "x", "night") for ph in gradual.phases]
    halfway = 0.5 * (mus[0] + mus[-1])
    assert np.allclose(mus[2], halfway)


def test_the_large_world_has_a_larger_action_space() -> None:
    world = suite_world("large-space", 1, 7, businesses=2)
    assert world.space.size == 2160
    assert world.expected(world.posts[0]).shape == (2160,)


def test_tuning_and_held_out_are_disjoint_worlds_and_seeds() -> None:
    tuning = {w.name for w in SUITE if w.tuning}
    held = {w.name for w in SUITE if not w.tuning}
    assert tuning and held and not tuning & held
    assert len(SUITE) >= 8
    assert not set(TUNING_SEEDS) & set(HELD_OUT_SEEDS)
    with pytest.raises(SystemExit):
        learning_sweep.main(["--worlds", f"additive,{sorted(held)[0]}"])


def test_a_world_spec_refuses_infinite_variance_and_bad_shares() -> None:
    with pytest.raises(ValueError):
        WorldSpec("x", False, "", noise_dof=2.0)
    with pytest.raises(ValueError):
        WorldSpec("x", False, "", platform_share=(1.0, 0.0, 1.0, 1.0))


def test_the_library_learner_beats_uniform_on_a_held_out_world() -> None:
    world = suite_world("own-tastes", 1, 28, businesses=4)
    bandit = run(world, Bandit(world.space, BanditParams(), "bandit", fit_after=100), seed=1)
    uniform = run(world, Uniform(world.space), seed=1)
    assert bandit.gap_closed(21, 28) > 0.3
    assert abs(uniform.gap_closed(21, 28)) < 0.15
    assert WORLDS["own-tastes"].tuning is False
