"""Policy math (SPEC §4): per-dimension softmax with an exploration floor, and
the softmax policy-gradient update. Pure: numpy and stdlib only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from shared.action_space import ActionSpace
from shared.context import CONTEXT_DIM, FloatArray


@dataclass(frozen=True)
class PolicyParams:
    """Hyperparameters. τ: softmax temperature; ε: exploration floor;
    α_H, α_θ: learning rates of preferences and θ; β: baseline step."""

    tau: float = 1.0
    # The SPEC's 0.05 floor and 0.05 / 0.01 rates were tuned on the learning
    # benchmark (make bench-learning): docs/decisions.md, items 1 and 39.
    epsilon: float = 0.02
    alpha_h: float = 2.0
    alpha_theta: float = 0.25
    beta: float = 0.1

    def __post_init__(self) -> None:
        for name in ("tau", "epsilon", "alpha_h", "alpha_theta", "beta"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
        if self.tau <= 0:
            raise ValueError(f"tau must be > 0, got {self.tau}")
        if not 0 <= self.epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")
        if self.alpha_h < 0 or self.alpha_theta < 0:
            raise ValueError("learning rates must be >= 0")
        if not 0 < self.beta <= 1:
            raise ValueError(f"beta must be in (0, 1], got {self.beta}")


@dataclass(frozen=True)
class DimensionChoice:
    """What was chosen in one dimension and with which probabilities.

    ``pi0`` is the softmax (shape (n_values,)), ``pi`` the floored policy that
    was sampled from; ``propensity`` = pi[chosen].
    """

    dimension: str
    values: tuple[str, ...]
    scores: tuple[float, ...]
    pi0: tuple[float, ...]
    pi: tuple[float, ...]
    chosen: str

    @property
    def chosen_index(self) -> int:
        return self.values.index(self.chosen)

    @property
    def propensity(self) -> float:
        return self.pi[self.chosen_index]


@dataclass(frozen=True)
class Selection:
    choices: tuple[DimensionChoice, ...]
    seed: int

    @property
    def action(self) -> dict[str, str]:
        return {c.dimension: c.chosen for c in self.choices}

    @property
    def joint_propensity(self) -> float:
        return math.prod(c.propensity for c in self.choices)


@dataclass(frozen=True)
class PolicyDelta:
    """The change one reward makes: H[p, tb, d, v] += dh, θ[d, v] += coef · x."""

    dimension: str
    value: str
    dh: float
    coef: float


def softmax(scores: FloatArray, tau: float) -> FloatArray:
    """softmax(scores / τ), shape (n,).

    Subtracting the max before exp keeps every exponent ≤ 0, so nothing
    overflows and the result is unchanged (softmax is shift-invariant).
    """
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError("scores must be a non-empty 1-D array")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite")
    # Shift before dividing: scores / τ could overflow for a small τ. A score
    # far below the max may still become -inf here, and exp(-inf) = 0 is right.
    with np.errstate(over="ignore"):
        z = (scores - scores.max()) / tau
    e = np.exp(z)
    result: FloatArray = e / e.sum()
    return result


def floored(pi0: FloatArray, epsilon: float) -> FloatArray:
    """π = (1 − ε) π⁰ + ε / n: every value keeps at least ε / n probability."""
    result: FloatArray = (1.0 - epsilon) * pi0 + epsilon / pi0.size
    return result


def scores_for(
    values: tuple[str, ...],
    dimension: str,
    preferences: Mapping[tuple[str, str], float],
    theta: Mapping[tuple[str, str], FloatArray],
    x: FloatArray,
) -> FloatArray:
    """s_v = H[d, v] + θ[d, v] · x for each value; absent rows count as 0."""
    s = np.zeros(len(values))
    for i, v in enumerate(values):
        key = (dimension, v)
        s[i] = preferences.get(key, 0.0)
        th = theta.get(key)
        if th is not None:
            s[i] += float(th @ x)
    return s


def seed_from_id(decision_id: int) -> int:
    """A non-negative 63-bit seed (fits a Postgres bigint) from a 128-bit id."""
    return (decision_id >> 64) & ((1 << 63) - 1)


def select(
    space: ActionSpace,
    preferences: Mapping[tuple[str, str], float],
    theta: Mapping[tuple[str, str], FloatArray],
    x: FloatArray,
    params: PolicyParams,
    seed: int,
) -> Selection:
    """Sample one value per dimension, independently, from π_d.

    ``preferences`` holds H for the decision's (platform, time bucket);
    ``theta`` holds θ[d, v], shape (768,). The generator is seeded with
    ``seed`` and draws the dimensions in definition order, so the same seed
    and state always give the same action.
    """
    if x.shape != (CONTEXT_DIM,):
        raise ValueError(f"x must have shape ({CONTEXT_DIM},), got {x.shape}")
    rng = np.random.default_rng(seed)
    choices = []
    for dim in space.dimensions:
        s = scores_for(dim.values, dim.name, preferences, theta, x)
        pi0 = softmax(s, params.tau)
        pi = floored(pi0, params.epsilon)
        # Inverse-CDF on one uniform draw per dimension; the clip guards the
        # last bucket against cumulative rounding below 1.
        k = int(np.searchsorted(np.cumsum(pi), rng.random(), side="right"))
        k = min(k, len(dim.values) - 1)
        choices.append(
            DimensionChoice(
                dimension=dim.name,
                values=dim.values,
                scores=tuple(float(v) for v in s),
                pi0=tuple(float(v) for v in pi0),
                pi=tuple(float(v) for v in pi),
                chosen=dim.values[k],
            )
        )
    return Selection(choices=tuple(choices), seed=seed)


def gradient(choices: tuple[DimensionChoice, ...], advantage: float, params: PolicyParams) -> list[PolicyDelta]:
    """Softmax policy gradient for every value of every dimension.

    g_v = 1[v = a_d] − π⁰_d(v), the gradient of log π⁰_d(a_d) with respect to
    the score s_v (times τ). dh = α_H · A · g_v and θ moves by α_θ · A · g_v · x.
    The logged π⁰ is used, so the update is the one for the choice as made.
    """
    if not math.isfinite(advantage):
        raise ValueError(f"advantage must be finite, got {advantage}")
    deltas = []
    for c in choices:
        for i, v in enumerate(c.values):
            g = (1.0 if v == c.chosen else 0.0) - c.pi0[i]
            deltas.append(
                PolicyDelta(
                    dimension=c.dimension,
                    value=v,
                    dh=params.alpha_h * advantage * g,
                    coef=params.alpha_theta * advantage * g,
                )
            )
    return deltas


def fold_baseline(baseline: float, reward: float, beta: float) -> float:
    """b ← b + β (r − b)."""
    return baseline + beta * (reward - baseline)


@dataclass(frozen=True)
class LoggedUpdate:
    """One reward's update as logged: where it was chosen, what, and how it went."""

    platform: str
    time_bucket: str
    choices: tuple[DimensionChoice, ...]
    x: FloatArray  # shape (768,)
    advantage: float


def summed_step(
    updates: list[LoggedUpdate], params: PolicyParams
) -> tuple[dict[tuple[str, str, str, str], float], dict[tuple[str, str], FloatArray]]:
    """The changes of several updates, summed: (H deltas by (platform, time bucket,
    dimension, value), θ deltas by (dimension, value), each shape (768,)).

    A step depends only on what was logged (π⁰, x, the baseline before the
    reward), never on the current H or θ, so applying the sum equals applying
    the updates one by one, in any order.
    """
    dh: dict[tuple[str, str, str, str], float] = {}
    dtheta: dict[tuple[str, str], FloatArray] = {}
    for u in updates:
        for d in gradient(u.choices, u.advantage, params):
            key = (u.platform, u.time_bucket, d.dimension, d.value)
            dh[key] = dh.get(key, 0.0) + d.dh
            prev = dtheta.get((d.dimension, d.value))
            step = d.coef * u.x
            dtheta[(d.dimension, d.value)] = step if prev is None else prev + step
    return dh, dtheta
