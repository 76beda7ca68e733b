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
from shared.core.target_policies import LoggedArrays, LoggedDecision, TargetPolicy, logged_arrays

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


def importance_weights(log: LoggedArrays, target: TargetPolicy) -> tuple[FloatArray, FloatArray]:
    """(w, shape (n,); the target's probabilities, a row per decision, shape (n, n_values))."""
    probs = target.probability_rows(log)
    rows = np.arange(len(log.platforms))[:, None]
    logged = log.pi[rows, log.chosen]
    if np.any(logged <= 0):
        raise ValueError("a logged propensity is 0: the decision cannot be reweighted")
    w: FloatArray = np.prod(probs[rows, log.chosen] / logged, axis=1)
    if not getattr(target, "as_logged", False):
        # Over the joint propensity the action was drawn with (the logging policy as run
        # drew it with exactly that: its weight stays 1).
        w = w * log.shaped
    return w, probs


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
    decisions: Sequence[LoggedDecision] | LoggedArrays,
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
    log = decisions if isinstance(decisions, LoggedArrays) else logged_arrays(decisions)
    n = len(log)
    if n < 2 * folds:
        raise ValueError(f"need at least {2 * folds} decisions, got {n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 10:
        raise ValueError(f"n_boot must be >= 10, got {n_boot}")
    rewards = log.rewards
    if not np.all(np.isfinite(rewards)):
        raise ValueError("rewards must be finite")
    des, models = cross_fitted(log, rng, folds)
    q_logged = np.empty(n)
    for rows, model in models:
        q_logged[rows] = model.predict_logged(des, rows)
    boot = rng.integers(0, n, size=(n_boot, n))
    columns = []
    per_target = []
    for target in targets:
        w, probs = importance_weights(log, target)
        q_target = np.empty(n)
        for rows, model in models:
            q_target[rows] = model.predict_policy(des, rows, probs[rows])
        ips = w * rewards
        dr = q_target + w * (rewards - q_logged)
        per_target.append(
            (target.name, effective_sample_size(w), float(ips.mean()), _snips(w, rewards), float(dr.mean()))
        )
        columns += [ips, w, dr]
    # Each resample's sum of every per-decision term of every target: how often it drew each
    # decision, times the terms (one resample at a time, so no n_boot × n array beyond ``boot``).
    terms = np.column_stack(columns)
    sums = np.stack([np.bincount(drawn, minlength=n) @ terms for drawn in boot])  # (n_boot, 3 per target)
    out = []
    for t, (name, ess, ips_value, snips_value, dr_value) in enumerate(per_target):
        ips_sums, w_sums, dr_sums = sums[:, 3 * t], sums[:, 3 * t + 1], sums[:, 3 * t + 2]
        for estimator, value, samples in (
            ("IPS", ips_value, ips_sums / n),
            ("SNIPS", snips_value, ips_sums / np.maximum(w_sums, 1e-300)),
            ("DR", dr_value, dr_sums / n),
        ):
            lo, hi = _interval(samples, level)
            out.append(Estimate(name, estimator, value, lo, hi, n, ess))
    return out


def _snips(w: FloatArray, r: FloatArray) -> float:
    total = float(w.sum())
    return float((w * r).sum()) / total if total > 0 else math.nan
