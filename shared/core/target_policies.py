"""Policies to evaluate from the log (off-policy): for a logged decision, the
probability each would have given to every value of every dimension.

All of them choose the dimensions independently, as the product does, so a
policy is a list of per-dimension distributions over the values the decision
logged. Pure: numpy and stdlib only.
"""

from __future__ import annotations

import json
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


class TargetPolicy(Protocol):
    @property
    def name(self) -> str: ...

    def probabilities(self, d: LoggedDecision) -> list[FloatArray]:
        """One array per dimension, over ``choice.values``, each summing to 1."""
        ...


@dataclass(frozen=True)
class LoggingPolicy:
    """The policy that made the decisions (each with the state it had then, and the variety
    cap as it acted: its probability of a logged action is the logged propensity)."""

    name: str = "logging policy (as run)"
    as_logged: ClassVar[bool] = True

    def probabilities(self, d: LoggedDecision) -> list[FloatArray]:
        return [np.asarray(c.pi) for c in d.choices]


@dataclass(frozen=True)
class UniformPolicy:
    name: str = "uniform random"

    def probabilities(self, d: LoggedDecision) -> list[FloatArray]:
        return [np.full(len(c.values), 1.0 / len(c.values)) for c in d.choices]


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
