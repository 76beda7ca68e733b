"""Off-policy estimators: the value a target policy would have had on the logged
decisions, from their propensities (IPS, self-normalised IPS, doubly robust),
with percentile-bootstrap confidence intervals and the effective sample size.

For decision i with action a_i, logged per-dimension probabilities π_d and
target probabilities π^e_d, the importance weight is

    w_i = Π_d π^e_d(a_id) / π_i(a_i)

with π_i(a_i) the logged joint propensity: Π_d π_d(a_id), over 1 − the probability of the
recipes a variety cap left out (docs/variety.md).

    IPS   = (1/n) Σ w_i r_i
    SNIPS = Σ w_i r_i / Σ w_i
    DR    = (1/n) Σ [ E_{π^e}[q̂(x_i, ·)] + w_i (r_i − q̂(x_i, a_i)) ]     (q̂ cross-fitted)
    ESS   = (Σ w_i)² / Σ w_i²

Pure: numpy and stdlib only; the generator is a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shared.core.context import FloatArray
from shared.core.reward_model import cross_fitted
from shared.core.target_policies import LoggedDecision, TargetPolicy

# Every reward lies in [−1, 1] (shared/core/reward.py), so every policy's value does too: an
# interval reaching past it says no more than the range itself, and is cut to it. The
# estimate is not: IPS can leave the range on a small log, and cutting it would bias it.
REWARD_RANGE = (-1.0, 1.0)


@dataclass(frozen=True)
class Estimate:
    policy: str
    estimator: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    ess: float


def importance_weights(
    decisions: Sequence[LoggedDecision], target: TargetPolicy
) -> tuple[FloatArray, list[list[FloatArray]]]:
    """(w, shape (n,); the target's per-dimension probabilities per decision)."""
    weights = np.empty(len(decisions))
    probs = []
    for i, d in enumerate(decisions):
        p = target.probabilities(d)
        w = 1.0
        for c, pe in zip(d.choices, p, strict=True):
            k = c.chosen_index
            if c.pi[k] <= 0:
                raise ValueError("a logged propensity is 0: the decision cannot be reweighted")
            w *= float(pe[k]) / c.pi[k]
        if d.propensity is not None and not getattr(target, "as_logged", False):
            # Over the joint propensity the action was drawn with (the logging policy as run
            # drew it with exactly that: its weight stays 1).
            w *= math.prod(c.pi[c.chosen_index] for c in d.choices) / d.propensity
        weights[i] = w
        probs.append(p)
    return weights, probs


def effective_sample_size(w: FloatArray) -> float:
    total = float(np.sum(w**2))
    return float(np.sum(w)) ** 2 / total if total > 0 else 0.0


def _interval(samples: FloatArray, level: float) -> tuple[float, float]:
    """The percentile interval of the bootstrap samples, within REWARD_RANGE."""
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(samples, [tail, 1.0 - tail])
    low, high = REWARD_RANGE
    return float(min(max(lo, low), high)), float(min(max(hi, low), high))


def evaluate(
    decisions: Sequence[LoggedDecision],
    targets: Sequence[TargetPolicy],
    rng: np.random.Generator,
    *,
    n_boot: int = 500,
    level: float = 0.95,
    folds: int = 2,
) -> list[Estimate]:
    """Every estimator for every target: ``len(targets) × 3`` estimates, in that order.

    The bootstrap resamples decisions with replacement (the same resamples for
    every target, so intervals are comparable); the reward model is fitted once,
    cross-fitted over ``folds`` folds.
    """
    n = len(decisions)
    if n < 2 * folds:
        raise ValueError(f"need at least {2 * folds} decisions, got {n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 10:
        raise ValueError(f"n_boot must be >= 10, got {n_boot}")
    rewards = np.array([d.reward for d in decisions])
    if not np.all(np.isfinite(rewards)):
        raise ValueError("rewards must be finite")
    des, models = cross_fitted(decisions, rng, folds)
    q_logged = np.empty(n)
    for rows, model in models:
        q_logged[rows] = model.predict_logged(des, rows)
    boot = rng.integers(0, n, size=(n_boot, n))
    out = []
    for target in targets:
        w, probs = importance_weights(decisions, target)
        q_target = np.empty(n)
        for rows, model in models:
            q_target[rows] = model.predict_policy(des, rows, [probs[i] for i in rows])
        ess = effective_sample_size(w)
        ips = w * rewards
        dr = q_target + w * (rewards - q_logged)
        for name, value, samples in (
            ("IPS", float(ips.mean()), ips[boot].mean(axis=1)),
            ("SNIPS", _snips(w, rewards), ips[boot].sum(axis=1) / np.maximum(w[boot].sum(axis=1), 1e-300)),
            ("DR", float(dr.mean()), dr[boot].mean(axis=1)),
        ):
            lo, hi = _interval(samples, level)
            out.append(Estimate(target.name, name, value, lo, hi, n, ess))
    return out


def _snips(w: FloatArray, r: FloatArray) -> float:
    total = float(w.sum())
    return float((w * r).sum()) / total if total > 0 else math.nan
