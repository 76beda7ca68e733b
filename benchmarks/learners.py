"""The learners of the learning benchmark, behind one small interface.

``Product`` is the product's policy: the selection and the summed update of
``shared.core.policy`` (the same functions the decision path and update_policy
call), the baseline folded per platform as compute_reward folds it; ``Bandit``
is the library learner (shared/core/bandit.py). The baselines see platform, time
bucket and x through one feature map ``z = [1, platform, platform × time
bucket, whitened x]``; only ``Bandit`` is also told which business posts
(``with_business=False`` withholds it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from benchmarks.learning_world import Post, World
from shared.core.action_space import ActionSpace
from shared.core.bandit import BanditParams, Decision, Outcome, RidgeIGW
from shared.core.context import PLATFORMS, TIME_BUCKETS, FloatArray
from shared.core.normaliser import ContextNormaliser, fit_normaliser
from shared.core.policy import LoggedUpdate, PolicyParams, epsilon_at, fold_baseline, select, summed_step


@dataclass(frozen=True)
class Choice:
    action: tuple[int, ...]  # value index per dimension
    memo: Any  # what the learner needs back with the reward


@dataclass(frozen=True)
class Feedback:
    post: Post
    choice: Choice
    reward: float


class Learner(Protocol):
    name: str

    def choose(self, post: Post, rng: np.random.Generator) -> Choice: ...

    def learn(self, batch: list[Feedback]) -> None: ...


class Uniform:
    def __init__(self, space: ActionSpace) -> None:
        self.name = "uniform random"
        self.sizes = [len(d.values) for d in space.dimensions]

    def choose(self, post: Post, rng: np.random.Generator) -> Choice:
        return Choice(tuple(int(rng.integers(n)) for n in self.sizes), None)

    def learn(self, batch: list[Feedback]) -> None:
        return None


class Product:
    """The product's policy, its math unchanged. ``normaliser`` maps x before it is
    used; with ``fit_after`` instead, it runs on raw x until it has made that many
    decisions, then fits the normaliser on their contexts, sets θ to 0 and keeps H and
    the baselines, as the product's sweep does (shared/services/lifecycle.py); rewards
    of decisions made before the fit then move H only. ε follows the product's
    schedule (``epsilon_at`` of the rewards learned from so far)."""

    def __init__(
        self,
        space: ActionSpace,
        params: PolicyParams,
        normaliser: ContextNormaliser | None,
        name: str,
        *,
        fit_after: int | None = None,
    ) -> None:
        self.name = name
        self.space = space
        self.params = params
        self.normaliser = normaliser
        self.fit_after = fit_after
        self.seen: list[FloatArray] = []  # raw contexts, until the fit
        self.prefs: dict[tuple[str, str], dict[tuple[str, str], float]] = {}
        self.theta: dict[tuple[str, str], FloatArray] = {}
        self.baselines = dict.fromkeys(PLATFORMS, 0.0)
        self.steps = 0

    def choose(self, post: Post, rng: np.random.Generator) -> Choice:
        params = replace(self.params, epsilon=epsilon_at(self.params, self.steps))
        cell = (PLATFORMS[post.platform], TIME_BUCKETS[post.time_bucket])
        if self.fit_after is not None and self.normaliser is None:
            self.seen.append(post.x)
        x = post.x if self.normaliser is None else self.normaliser.apply(post.x, cell[0])
        sel = select(self.space, self.prefs.get(cell, {}), self.theta, x, params, int(rng.integers(2**63)))
        action = tuple(c.chosen_index for c in sel.choices)
        return Choice(action, (sel.choices, x, self.normaliser))

    def learn(self, batch: list[Feedback]) -> None:
        if self.fit_after is not None and self.normaliser is None and len(self.seen) >= self.fit_after:
            xs = np.array(self.seen)
            self.normaliser = fit_normaliser(xs, rank=min(16, xs.shape[0] - 1))
            self.theta = {}
            self.seen = []
        updates = []
        for f in batch:  # in the order the rewards were computed, as compute_reward folds them
            platform = PLATFORMS[f.post.platform]
            before = self.baselines[platform]
            self.baselines[platform] = fold_baseline(before, f.reward, self.params.beta)
            choices, x, used = f.choice.memo
            theta = used is self.normaliser
            bucket = TIME_BUCKETS[f.post.time_bucket]
            updates.append(LoggedUpdate(platform, bucket, choices, x, f.reward - before, theta=theta))
        dh, dtheta = summed_step(updates, self.params)
        self.steps += len(updates)
        for (p, tb, d, v), h_step in dh.items():
            cell = self.prefs.setdefault((p, tb), {})
            cell[(d, v)] = cell.get((d, v), 0.0) + h_step
        for key, theta_step in dtheta.items():
            prev = self.theta.get(key)
            self.theta[key] = theta_step if prev is None else prev + theta_step


class Bandit:
    """The library learner (shared/core/bandit.py), as deployed: x contributes nothing until
    ``fit_after`` decisions have been made, then the normaliser is fitted on their
    contexts and x' enters as its whitened components (the statistics learned so far
    stay valid: they saw those components as 0)."""

    def __init__(
        self, space: ActionSpace, params: BanditParams, name: str, *, fit_after: int = 300, with_business: bool = True
    ) -> None:
        self.name = name
        self.with_business = with_business  # False: the learner is not told which business posts
        self.space = space
        self.learner = RidgeIGW(space, params, rank=16)
        self.fit_after = fit_after
        self.normaliser: ContextNormaliser | None = None
        self.seen: list[FloatArray] = []

    def choose(self, post: Post, rng: np.random.Generator) -> Choice:
        if self.normaliser is None:
            self.seen.append(post.x)
        components = np.zeros(0) if self.normaliser is None else self.normaliser.components(post.x)
        platform, bucket = PLATFORMS[post.platform], TIME_BUCKETS[post.time_bucket]
        business = str(post.business) if self.with_business else None
        sel = self.learner.choose(platform, bucket, components, int(rng.integers(2**63)), business=business)
        action = tuple(c.chosen_index for c in sel.choices)
        return Choice(action, Decision(platform, bucket, components, action, business))

    def learn(self, batch: list[Feedback]) -> None:
        if self.normaliser is None and len(self.seen) >= self.fit_after:
            xs = np.array(self.seen)
            self.normaliser = fit_normaliser(xs, rank=min(16, xs.shape[0] - 1))
            self.seen = []
        self.learner.learn([Outcome(f.choice.memo, f.reward) for f in batch])


class Features:
    """z = [1, one-hot platform (4), one-hot platform × time bucket (16), whitened x (k)]."""

    def __init__(self, normaliser: ContextNormaliser) -> None:
        self.normaliser = normaliser
        self.size = 1 + len(PLATFORMS) + len(PLATFORMS) * len(TIME_BUCKETS) + normaliser.rank
        self._cache: dict[int, FloatArray] = {}

    def __call__(self, post: Post) -> FloatArray:
        found = self._cache.get(post.index)
        if found is None:
            z = np.zeros(self.size)
            z[0] = 1.0
            z[1 + post.platform] = 1.0
            z[1 + len(PLATFORMS) + post.platform * len(TIME_BUCKETS) + post.time_bucket] = 1.0
            z[-self.normaliser.rank :] = self.normaliser.components(post.x)
            self._cache[post.index] = found = z
        return found


class EpsilonGreedyLinear:
    """A ridge regression of the reward on an additive model, Σ_d w[d, a_d] · z,
    refitted after each batch; greedy per dimension, uniform with probability ε."""

    def __init__(self, space: ActionSpace, features: Features, epsilon: float = 0.05, ridge: float = 1.0) -> None:
        self.name = f"ε-greedy linear (ε={epsilon})"
        self.sizes = [len(d.values) for d in space.dimensions]
        self.offsets = np.cumsum([0, *self.sizes[:-1]])
        self.features = features
        self.epsilon = epsilon
        n = sum(self.sizes) * features.size
        self.a = ridge * np.eye(n)
        self.b = np.zeros(n)
        self.w = np.zeros((sum(self.sizes), features.size))

    def choose(self, post: Post, rng: np.random.Generator) -> Choice:
        z = self.features(post)
        scores = self.w @ z
        action = []
        for o, n in zip(self.offsets, self.sizes, strict=True):
            if rng.random() < self.epsilon:
                action.append(int(rng.integers(n)))
            else:
                action.append(int(np.argmax(scores[o : o + n])))
        return Choice(tuple(action), None)

    def learn(self, batch: list[Feedback]) -> None:
        if not batch:
            return
        m = self.features.size
        phi = np.zeros((len(batch), self.b.size))
        for row, f in enumerate(batch):
            z = self.features(f.post)
            for o, a in zip(self.offsets, f.choice.action, strict=True):
                phi[row, (o + a) * m : (o + a + 1) * m] = z
        self.a += phi.T @ phi
        self.b += phi.T @ np.array([f.reward for f in batch])
        self.w = np.asarray(np.linalg.solve(self.a, self.b), dtype=np.float64).reshape(self.w.shape)


class LinearThompson:
    """Per-dimension linear Thompson sampling: for each value of each dimension a
    Bayesian ridge regression of the reward on z; each decision samples every
    value's weights from its posterior and takes the best value per dimension."""

    def __init__(self, space: ActionSpace, features: Features, scale: float = 0.1, ridge: float = 1.0) -> None:
        self.name = "linear Thompson sampling (per dimension)"
        self.sizes = [len(d.values) for d in space.dimensions]
        self.offsets = np.cumsum([0, *self.sizes[:-1]])
        self.features = features
        self.scale = scale
        n_values, m = sum(self.sizes), features.size
        self.a = np.tile(ridge * np.eye(m), (n_values, 1, 1))
        self.b = np.zeros((n_values, m))
        self._posterior()

    def _posterior(self) -> None:
        cov = np.linalg.inv(self.a)
        self.mean = np.einsum("vij,vj->vi", cov, self.b)
        self.chol = np.linalg.cholesky(self.scale**2 * cov)

    def choose(self, post: Post, rng: np.random.Generator) -> Choice:
        z = self.features(post)
        noise = rng.standard_normal(self.mean.shape)
        sampled = self.mean + np.einsum("vij,vj->vi", self.chol, noise)
        scores = sampled @ z
        action = tuple(int(np.argmax(scores[o : o + n])) for o, n in zip(self.offsets, self.sizes, strict=True))
        return Choice(action, None)

    def learn(self, batch: list[Feedback]) -> None:
        for f in batch:
            z = self.features(f.post)
            for o, a in zip(self.offsets, f.choice.action, strict=True):
                self.a[o + a] += np.outer(z, z)
                self.b[o + a] += f.reward * z
        if batch:
            self._posterior()


class VowpalSquareCB:
    """Vowpal Wabbit ``cb_explore_adf --squarecb`` over the joint actions (every
    combination is one action described by its values), context z as shared features.

    gamma_scale 1000 and learning rate 2 are the best of a small grid (gamma_scale
    10, 100, 1000, 10000; -l 0.1, 0.5, 2) on seed 1 × 84 days: VW's default
    gamma_scale 10 explores 480 actions far too long (14% of the gap closed).
    """

    def __init__(
        self, space: ActionSpace, features: Features, gamma_scale: float = 1000.0, learning_rate: float = 2.0
    ) -> None:
        import vowpalwabbit  # type: ignore[import-untyped]

        self.name = "VW cb_explore_adf squarecb"
        self.features = features
        self.vw = vowpalwabbit.Workspace(
            f"--cb_explore_adf --squarecb --gamma_scale {gamma_scale} -l {learning_rate}"
            " --interactions sa --quiet --random_seed 1"
        )
        combos: list[tuple[int, ...]] = [()]
        for d in space.dimensions:
            combos = [(*c, i) for c in combos for i in range(len(d.values))]
        self.combos = combos
        self.lines = [
            "|a " + " ".join(f"{d.name}={d.values[i]}" for d, i in zip(space.dimensions, c, strict=True))
            for c in combos
        ]

    def _shared(self, post: Post) -> str:
        z = self.features(post)
        return "shared |s " + " ".join(f"f{i}:{v:.5g}" for i, v in enumerate(z) if v != 0.0)

    def choose(self, post: Post, rng: np.random.Generator) -> Choice:
        shared = self._shared(post)
        pmf = np.asarray(self.vw.predict([shared, *self.lines]), dtype=np.float64)
        pmf = pmf / pmf.sum()
        k = int(rng.choice(len(pmf), p=pmf))
        return Choice(self.combos[k], (shared, k, float(pmf[k])))

    def learn(self, batch: list[Feedback]) -> None:
        for f in batch:
            shared, k, p = f.choice.memo
            lines = list(self.lines)
            lines[k] = f"0:{-f.reward}:{p} {lines[k]}"  # cost = −reward, with the probability it had
            self.vw.learn([shared, *lines])


NORMALISER_DAYS = 7  # the baselines' normaliser is fitted on the first week's contexts


def vw_available() -> bool:
    try:
        import vowpalwabbit  # noqa: F401
    except ImportError:
        return False
    return True


def baselines(world: World) -> list[tuple[str, Callable[[World], Learner]]]:
    """The anchors the default must beat, built fresh per run: each sees platform,
    platform × time bucket and whitened x (a normaliser fitted on the first week's
    contexts, as it would be on a week of logged decisions) from the first day."""
    space = world.space
    xs = np.array([p.x for p in world.posts if p.day < NORMALISER_DAYS])
    features = Features(fit_normaliser(xs))
    made: list[tuple[str, Callable[[World], Learner]]] = [
        ("ε-greedy linear", lambda w: EpsilonGreedyLinear(space, features, epsilon=0.05)),
        ("linear Thompson sampling", lambda w: LinearThompson(space, features, scale=0.05)),
    ]
    if vw_available():
        made.append(("VW squarecb", lambda w: VowpalSquareCB(space, features)))
    return made
