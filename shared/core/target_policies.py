"""Policies to evaluate from the log (off-policy): for a logged decision, the
probability each would have given to every value of every dimension.

All of them choose the dimensions independently, as the product does, so a
policy is a list of per-dimension distributions over the values the decision
logged. Pure: numpy and stdlib only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar, Protocol

import numpy as np

from shared.core.bandit import RidgeIGW
from shared.core.context import PLATFORMS, FloatArray
from shared.core.normaliser import ContextNormaliser
from shared.core.policy import DimensionChoice, floored, scores_for, softmax


@dataclass(frozen=True)
class LoggedDecision:
    """What off-policy evaluation needs of one decision: its context, the
    per-dimension choices with the probabilities they were drawn with
    (``pi``), and the reward that followed."""

    platform: str
    time_bucket: str
    x: FloatArray  # (768,)
    choices: tuple[DimensionChoice, ...]
    reward: float
    # The probability the action was drawn with, when it is not the product of the choices'
    # (a decision the variety cap shaped, docs/variety.md); None: the product.
    propensity: float | None = None


@dataclass(frozen=True, eq=False)
class LoggedArrays:
    """A log of decisions as arrays (every decision over the same dimensions and values): what
    evaluation computes with, a row per decision and a column per value of every dimension."""

    dimensions: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]  # per dimension
    offsets: tuple[int, ...]  # the first column of each dimension
    platforms: tuple[str, ...]
    time_buckets: tuple[str, ...]
    x: FloatArray  # (n, 768)
    pi: FloatArray  # (n, n_values): the logged π of every dimension, concatenated
    chosen: np.ndarray  # (n, n_dims): the chosen value's column, int
    shaped: FloatArray  # (n,): Π π(chosen) / the joint propensity (1 where the product is it)
    rewards: FloatArray  # (n,)

    @property
    def n_values(self) -> int:
        return int(self.pi.shape[1])

    def __len__(self) -> int:
        return len(self.platforms)


def logged_arrays(decisions: Sequence[LoggedDecision]) -> LoggedArrays:
    if not decisions:
        raise ValueError("no decisions")
    first = decisions[0].choices
    dimensions = tuple(c.dimension for c in first)
    values = tuple(tuple(c.values) for c in first)
    sizes = [len(v) for v in values]
    offsets = tuple(int(o) for o in np.cumsum([0, *sizes[:-1]]))
    n = len(decisions)
    pi = np.empty((n, sum(sizes)))
    chosen = np.empty((n, len(sizes)), dtype=np.intp)
    shaped = np.ones(n)
    for i, d in enumerate(decisions):
        if tuple(c.dimension for c in d.choices) != dimensions or any(
            tuple(c.values) != v for c, v in zip(d.choices, values, strict=True)
        ):
            raise ValueError("the decisions were made over different action spaces")
        pi[i] = np.concatenate([c.pi for c in d.choices])
        chosen[i] = [o + c.chosen_index for o, c in zip(offsets, d.choices, strict=True)]
        if d.propensity is not None:
            shaped[i] = math.prod(c.pi[c.chosen_index] for c in d.choices) / d.propensity
    return LoggedArrays(
        dimensions=dimensions,
        values=values,
        offsets=offsets,
        platforms=tuple(d.platform for d in decisions),
        time_buckets=tuple(d.time_bucket for d in decisions),
        x=np.array([d.x for d in decisions]),
        pi=pi,
        chosen=chosen,
        shaped=shaped,
        rewards=np.array([d.reward for d in decisions], dtype=np.float64),
    )


class TargetPolicy(Protocol):
    @property
    def name(self) -> str: ...

    def probabilities(self, d: LoggedDecision) -> list[FloatArray]:
        """One array per dimension, over ``choice.values``, each summing to 1 (the definition)."""
        ...

    def probability_rows(self, log: LoggedArrays) -> FloatArray:
        """``probabilities`` of every decision of the log at once, a row each (n, n_values)."""
        ...


@dataclass(frozen=True)
class LoggingPolicy:
    """The policy that made the decisions (each with the state it had then, and the variety
    cap as it acted: its probability of a logged action is the logged propensity)."""

    name: str = "logging policy (as run)"
    as_logged: ClassVar[bool] = True

    def probabilities(self, d: LoggedDecision) -> list[FloatArray]:
        return [np.asarray(c.pi) for c in d.choices]

    def probability_rows(self, log: LoggedArrays) -> FloatArray:
        return log.pi


@dataclass(frozen=True)
class UniformPolicy:
    name: str = "uniform random"

    def probabilities(self, d: LoggedDecision) -> list[FloatArray]:
        return [np.full(len(c.values), 1.0 / len(c.values)) for c in d.choices]

    def probability_rows(self, log: LoggedArrays) -> FloatArray:
        row = np.concatenate([np.full(len(v), 1.0 / len(v)) for v in log.values])
        return np.broadcast_to(row, log.pi.shape)


@dataclass(frozen=True)
class SoftmaxPolicy:
    """The product's policy with a given state: floored softmax of H + θ·x'
    (x' = the normaliser's map of x when there is one, else x)."""

    name: str
    preferences: Mapping[tuple[str, str], Mapping[tuple[str, str], float]]  # (platform, bucket) → (dim, value) → H
    theta: Mapping[tuple[str, str], FloatArray]
    tau: float
    epsilon: float
    normaliser: ContextNormaliser | None = None

    def probabilities(self, d: LoggedDecision) -> list[FloatArray]:
        x = d.x if self.normaliser is None else self.normaliser.apply(d.x, d.platform)
        prefs = self.preferences.get((d.platform, d.time_bucket), {})
        return [
            floored(softmax(scores_for(c.values, c.dimension, prefs, self.theta, x), self.tau), self.epsilon)
            for c in d.choices
        ]

    def probability_rows(self, log: LoggedArrays) -> FloatArray:
        out = np.empty(log.pi.shape)
        for i, (platform, bucket) in enumerate(zip(log.platforms, log.time_buckets, strict=True)):
            x = log.x[i] if self.normaliser is None else self.normaliser.apply(log.x[i], platform)
            prefs = self.preferences.get((platform, bucket), {})
            out[i] = np.concatenate(
                [
                    floored(softmax(scores_for(values, dim, prefs, self.theta, x), self.tau), self.epsilon)
                    for dim, values in zip(log.dimensions, log.values, strict=True)
                ]
            )
        return out


@dataclass(frozen=True)
class BanditPolicy:
    """The reward-model learner with a given state (``shared.core.bandit``): its π on the
    decision's platform, time bucket and x's whitened components under ``normaliser``
    (none: components 0, as the learner saw them before one was fitted)."""

    name: str
    learner: RidgeIGW
    normaliser: ContextNormaliser | None = None

    def probabilities(self, d: LoggedDecision) -> list[FloatArray]:
        components = np.zeros(0) if self.normaliser is None else self.normaliser.components(d.x)
        return self.learner.probabilities(d.platform, d.time_bucket, components)

    def probability_rows(self, log: LoggedArrays) -> FloatArray:
        n = len(log.platforms)
        components = np.zeros((n, 0)) if self.normaliser is None else self.normaliser.components(log.x)
        return self.learner.probability_rows(log.platforms, log.time_buckets, components)


@dataclass(frozen=True)
class WhatIf:
    """ "The posts as they were, except: on ``platform`` (None: everywhere) every
    dimension in ``fixed`` takes the given value." The other dimensions follow
    the logging policy, so only the fixed ones weigh in the estimate."""

    name: str
    fixed: Mapping[str, str]
    platform: str | None = None

    def __post_init__(self) -> None:
        if not self.fixed:
            raise ValueError(f"what-if {self.name!r} fixes no dimension")
        if self.platform is not None and self.platform not in PLATFORMS:
            raise ValueError(f"what-if {self.name!r}: unknown platform {self.platform!r}")

    def probabilities(self, d: LoggedDecision) -> list[FloatArray]:
        applies = self.platform is None or d.platform == self.platform
        out = []
        for c in d.choices:
            value = self.fixed.get(c.dimension) if applies else None
            if value is None:
                out.append(np.asarray(c.pi))
            elif value in c.values:
                out.append(np.asarray([1.0 if v == value else 0.0 for v in c.values]))
            else:
                raise ValueError(f"what-if {self.name!r}: {value!r} is not a value of {c.dimension}")
        return out

    def probability_rows(self, log: LoggedArrays) -> FloatArray:
        out = log.pi.copy()
        applies = np.array([self.platform is None or p == self.platform for p in log.platforms])
        for dim, value in self.fixed.items():
            if dim not in log.dimensions:
                continue  # a dimension these decisions did not have
            j = log.dimensions.index(dim)
            if value not in log.values[j]:
                if not applies.any():
                    continue
                raise ValueError(f"what-if {self.name!r}: {value!r} is not a value of {dim}")
            o = log.offsets[j]
            block = slice(o, o + len(log.values[j]))
            one_hot = np.zeros(len(log.values[j]))
            one_hot[log.values[j].index(value)] = 1.0
            out[applies, block] = one_hot
        return out


def what_ifs_from_data(data: Sequence[Mapping[str, Any]]) -> list[WhatIf]:
    """[{"name": ..., "platform": "linkedin" | null, "fixed": {"HOOK_TYPE": "question"}}, ...]"""
    return [
        WhatIf(name=str(e["name"]), fixed={str(k): str(v) for k, v in e["fixed"].items()}, platform=e.get("platform"))
        for e in data
    ]


def default_what_ifs() -> list[WhatIf]:
    """The what-if policies shipped with the product (``what_ifs.json`` beside this module)."""
    text = resources.files("shared").joinpath("what_ifs.json").read_text("utf-8")
    return what_ifs_from_data(json.loads(text))
