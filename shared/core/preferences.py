"""What the policy would choose now, at a given context: π of every dimension, for either
learner, exactly as the next decision would draw it (without a variety cap). The dashboard
shows it at a cell's typical context; read_business at one business's own (docs/read-api.md).
Pure: numpy and stdlib."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from shared.core.action_space import ActionSpace
from shared.core.bandit import DEFAULT_RANK, RidgeIGW, bandit_params
from shared.core.context import CONTEXT_DIM, FloatArray
from shared.core.normaliser import ContextNormaliser
from shared.core.policy import PolicyParams, epsilon_at, floored, scores_for, softmax


@dataclass(frozen=True)
class PolicyReading:
    """The policy as read for showing it: the gradient's H and θ, the bandit's solution arrays
    (with one business's terms when read for it), the learning steps and the active normaliser."""

    version: int
    steps: int
    preferences: dict[tuple[str, str], dict[tuple[str, str], float]]  # (platform, bucket) → (dim, value) → H
    theta: dict[tuple[str, str], FloatArray]  # (dim, value) → θ, shape (768,)
    arrays: Mapping[str, FloatArray] = field(default_factory=dict)
    normaliser: ContextNormaliser | None = None


def probabilities_at(
    space: ActionSpace,
    params: PolicyParams,
    policy: PolicyReading,
    platform: str,
    bucket: str,
    x: FloatArray | None,
    business: str | None = None,
) -> list[FloatArray]:
    """π_d of every dimension (shapes (n_d,)) at the raw context ``x`` (shape (768,)); None:
    no context seen yet, read as the normaliser's mean context (or x = 0 without one).
    ``business`` adds that business's own terms (the bandit's; the gradient has none)."""
    if x is not None and x.shape != (CONTEXT_DIM,):
        raise ValueError(f"x must have shape ({CONTEXT_DIM},), got {x.shape}")
    norm = policy.normaliser
    if params.learner == "bandit":
        learner, _ = RidgeIGW.restore(space, bandit_params(params), DEFAULT_RANK, policy.arrays)
        components = np.zeros(0) if norm is None else norm.components(norm.mean if x is None else x)
        return learner.probabilities(platform, bucket, components, business)
    # The ε the schedule gives at the state's learning steps, as the next decision draws with.
    params = replace(params, epsilon=epsilon_at(params, policy.steps))
    raw = np.zeros(CONTEXT_DIM) if x is None and norm is None else x
    # x' is affine in x, so x' of a mean x is the mean of the decisions' x'.
    seen = raw if norm is None else norm.apply(norm.mean if raw is None else raw, platform)
    assert seen is not None
    prefs = policy.preferences.get((platform, bucket), {})
    return [
        floored(softmax(scores_for(dim.values, dim.name, prefs, policy.theta, seen), params.tau), params.epsilon)
        for dim in space.dimensions
    ]
