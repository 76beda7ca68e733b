"""Run learners through a world and summarise the traces (pure numpy, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.learners import Feedback, Learner
from benchmarks.learning_world import BATCH_HOURS, World
from shared.core.context import FloatArray

FINAL_SHARE = 0.25  # the final period is the last quarter of the days


@dataclass(frozen=True)
class Trace:
    """Per post, in decision order: its day, E[r] of the chosen action, of the
    best action and of a uniformly random action in that context."""

    learner: str
    seed: int
    drift_day: int | None
    day: np.ndarray
    chosen: FloatArray
    best: FloatArray
    uniform: FloatArray
    changed_day: int | None = None  # the first day of the last phase: the drift day, or when a gradual one ends

    @property
    def regret(self) -> FloatArray:
        """Cumulative expected regret against the best action, per post (non-decreasing)."""
        out: FloatArray = np.cumsum(self.best - self.chosen)
        return out

    def window(self, first_day: int, last_day: int) -> tuple[float, float, float]:
        """Mean (chosen, uniform, best) over days first_day..last_day − 1."""
        m = (self.day >= first_day) & (self.day < last_day)
        return float(self.chosen[m].mean()), float(self.uniform[m].mean()), float(self.best[m].mean())

    def gap_closed(self, first_day: int, last_day: int) -> float:
        chosen, uniform, best = self.window(first_day, last_day)
        return (chosen - uniform) / (best - uniform)

    def daily_gap_closed(self) -> FloatArray:
        days = int(self.day.max()) + 1
        sums = [np.bincount(self.day, weights=w, minlength=days) for w in (self.chosen, self.uniform, self.best)]
        out: FloatArray = (sums[0] - sums[1]) / (sums[2] - sums[1])
        return out


def run(world: World, learner: Learner, seed: int) -> Trace:
    """Decide every post in time order; a reward reaches the learner when due
    (24 h after posting), in batches of every reward due within BATCH_HOURS."""
    rng = np.random.default_rng([world.config.seed, seed, 2])
    pending: list[Feedback] = []
    chosen = np.empty(len(world.posts))
    batch_end = BATCH_HOURS
    for post in world.posts:
        while post.hour >= batch_end:
            due = [f for f in pending if f.post.due <= batch_end]
            if due:
                pending = [f for f in pending if f.post.due > batch_end]
                learner.learn(due)
            batch_end += BATCH_HOURS
        choice = learner.choose(post, rng)
        k = world.joint_index(choice.action)
        chosen[post.index] = world.expected(post)[k]
        pending.append(Feedback(post, choice, world.reward(post, k)))
    expected = [world.expected(p) for p in world.posts]
    return Trace(
        learner=learner.name,
        seed=world.config.seed,
        drift_day=world.config.drift_day,
        day=np.array([p.day for p in world.posts]),
        chosen=chosen,
        best=np.array([e.max() for e in expected]),
        uniform=np.array([e.mean() for e in expected]),
        changed_day=world.changed_day(),
    )


def recovery_days(trace: Trace, smooth: int = 7, level: float = 0.9) -> float:
    """Days after the tastes finished changing (the drift day, or the end of a gradual
    drift) until the ``smooth``-day mean share of the gap closed is back to ``level`` ×
    its value over the ``smooth`` days before the drift began; inf if never."""
    assert trace.drift_day is not None
    daily = trace.daily_gap_closed()
    d = trace.drift_day
    c = d if trace.changed_day is None else trace.changed_day
    target = level * float(daily[d - smooth : d].mean())
    for end in range(c + smooth, len(daily) + 1):
        if daily[end - smooth : end].mean() >= target:
            return float(end - c)
    return float("inf")
