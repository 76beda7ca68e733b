"""The learning benchmark: its world and learners (in process), and the whole
command at its quick scale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.learners import Feedback, Product, Uniform
from benchmarks.learning_runs import recovery_days, run
from benchmarks.learning_world import WorldConfig, build_world
from shared.config import PROJECT_ROOT
from shared.core.action_space import ActionSpace
from shared.core.policy import PolicyParams

SPACE = ActionSpace.load()


def test_the_product_beats_uniform_random_over_the_last_week_of_a_small_run():
    world = build_world(WorldConfig(seed=3, days=28, businesses=4), SPACE)
    product = run(world, Product(SPACE, PolicyParams(), None, "product"), seed=3)
    uniform = run(world, Uniform(SPACE), seed=3)
    assert product.gap_closed(21, 28) > 0.3
    assert abs(uniform.gap_closed(21, 28)) < 0.1
    # Same posts, same contexts: only the choices differ.
    np.testing.assert_array_equal(product.best, uniform.best)


def test_the_product_learner_fits_its_normaliser_on_schedule_and_resets_theta():
    world = build_world(WorldConfig(seed=6, days=10, businesses=2), SPACE)
    product = Product(SPACE, PolicyParams(), None, "product", fit_after=40)
    rng = np.random.default_rng(6)
    raw = [product.choose(p, rng) for p in world.posts[:40]]
    assert product.normaliser is None and len(product.seen) == 40
    product.learn([Feedback(p, c, 0.5) for p, c in zip(world.posts[:20], raw[:20], strict=True)])
    # Fitted on the 40 raw contexts; the rewards of raw-x decisions moved H, not θ.
    assert product.normaliser is not None and product.seen == []
    assert product.theta == {}
    assert product.prefs
    after = product.choose(world.posts[40], rng)
    assert after.memo[2] is product.normaliser
    product.learn([Feedback(world.posts[40], after, 0.9)])
    assert product.theta  # a decision made on x' moves θ


def test_cumulative_regret_never_decreases_and_rewards_arrive_only_once_due():
    world = build_world(WorldConfig(seed=4, days=3, businesses=2), SPACE)

    class Recorder(Uniform):
        def __init__(self, space: ActionSpace) -> None:
            super().__init__(space)
            self.delivered: list[int] = []
            self.early: list[tuple[float, float]] = []
            self.waiting: list[float] = []

        def learn(self, batch):
            self.waiting = [f.post.due for f in batch]
            self.delivered.extend(f.post.index for f in batch)

        def choose(self, post, rng):
            # A reward learned before this decision must have been due by now.
            self.early.extend((due, post.hour) for due in self.waiting if due > post.hour)
            self.waiting = []
            return super().choose(post, rng)

    recorder = Recorder(SPACE)
    trace = run(world, recorder, seed=4)
    assert np.all(np.diff(trace.regret) >= 0.0)
    assert recorder.early == []
    # Every reward due at least a batch before the last decision was delivered, each once.
    last = world.posts[-1].hour
    assert {p.index for p in world.posts if p.due <= last - 6.0} <= set(recorder.delivered)
    assert len(recorder.delivered) == len(set(recorder.delivered))


def test_a_drift_redraws_the_tastes_and_recovery_is_measured_after_it():
    world = build_world(WorldConfig(seed=5, days=28, businesses=4, drift_day=14), SPACE)
    before = world.expected(world.posts[0])
    same_context_after = next(
        p
        for p in world.posts
        if p.day >= 14
        and (p.business, p.topic, p.platform, p.time_bucket)
        == (world.posts[0].business, world.posts[0].topic, world.posts[0].platform, world.posts[0].time_bucket)
    )
    assert not np.allclose(before, world.expected(same_context_after))
    trace = run(world, Product(SPACE, PolicyParams(), None, "product"), seed=5)
    assert recovery_days(trace) >= 7


@pytest.mark.slow
def test_the_quick_benchmark_writes_its_report_and_figures(tmp_path: Path):
    out = tmp_path / "learning.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.learning",
            "--quick",
            "--out",
            str(out),
            "--traces",
            str(tmp_path / "t.pkl"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "HOME": str(tmp_path), "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    for learner in (
        "**reward model + IGW (default)**",
        "policy gradient (the seed's learner, re-tuned)",
        "linear Thompson sampling",
        "VW squarecb",
    ):
        assert f"| {learner} |" in text
    # One table per held-out world of the quick scale, a verdict row each, days to recover where it drifts.
    for world in ("own-tastes", "drift-own"):
        assert f"### {world}:" in text
        assert f"| {world} | " in text
    assert "days to recover |" in text
    assert "Per decision the library learner costs" in text
    assert "coverage of the 95% CI" in text
    assert (tmp_path / "figures" / "learning_suite.png").read_bytes().startswith(b"\x89PNG")
