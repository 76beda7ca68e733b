"""The reward model of the doubly robust estimator: a ridge regression of the
reward on an additive model of the action, cross-fitted.

    q̂(x, a) = w₀ · z(x) + Σ_d w[d, a_d] · u(x)

with z = [1, platform one-hot, platform × time-bucket one-hot, whitened x (k)]
and u = [1, platform one-hot, whitened x (k)]. Additive in the dimensions, so
the expected prediction under a per-dimension policy is exact and cheap:
E_π[q̂(x, ·)] = w₀ · z + Σ_d Σ_v π_d(v) w[d, v] · u. Pure: numpy and stdlib only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shared.core.context import PLATFORMS, TIME_BUCKETS, FloatArray
from shared.core.normaliser import ContextNormaliser, fit_normaliser
from shared.core.target_policies import LoggedDecision

RANK = 8  # whitened directions of x the model sees


@dataclass(frozen=True, eq=False)
class Design:
    """Per decision: context features z (n, m_z), u (n, m_u); chosen value rows (n, n_dims)."""

    z: FloatArray
    u: FloatArray
    chosen: np.ndarray  # global value index per dimension, int (n, n_dims)
    offsets: tuple[int, ...]  # first global value index of each dimension
    n_values: int


def design(decisions: Sequence[LoggedDecision], normaliser: ContextNormaliser) -> Design:
    n = len(decisions)
    k = normaliser.rank
    comps = np.concatenate(
        [normaliser.components(np.array([d.x for d in decisions[i : i + 1024]])) for i in range(0, n, 1024)]
    )
    n_p, n_tb = len(PLATFORMS), len(TIME_BUCKETS)
    z = np.zeros((n, 1 + n_p + n_p * n_tb + k))
    u = np.zeros((n, 1 + n_p + k))
    sizes = [len(c.values) for c in decisions[0].choices]
    offsets = tuple(int(o) for o in np.cumsum([0, *sizes[:-1]]))
    chosen = np.zeros((n, len(sizes)), dtype=np.int64)
    for i, d in enumerate(decisions):
        p, tb = PLATFORMS.index(d.platform), TIME_BUCKETS.index(d.time_bucket)
        z[i, 0] = u[i, 0] = 1.0
        z[i, 1 + p] = u[i, 1 + p] = 1.0
        z[i, 1 + n_p + p * n_tb + tb] = 1.0
        for j, c in enumerate(d.choices):
            chosen[i, j] = offsets[j] + c.chosen_index
    z[:, -k:] = comps
    u[:, -k:] = comps
    return Design(z=z, u=u, chosen=chosen, offsets=offsets, n_values=sum(sizes))


def _phi(des: Design, rows: np.ndarray) -> FloatArray:
    """Feature matrix of the logged actions, (len(rows), m_z + n_values · m_u)."""
    m_u = des.u.shape[1]
    out = np.zeros((len(rows), des.z.shape[1] + des.n_values * m_u))
    out[:, : des.z.shape[1]] = des.z[rows]
    base = des.z.shape[1]
    for j in range(des.chosen.shape[1]):
        for r_i, r in enumerate(rows):
            v = des.chosen[r, j]
            out[r_i, base + v * m_u : base + (v + 1) * m_u] = des.u[r]
    return out


@dataclass(frozen=True, eq=False)
class RidgeModel:
    w0: FloatArray  # (m_z,)
    w: FloatArray  # (n_values, m_u)

    def predict_logged(self, des: Design, rows: np.ndarray) -> FloatArray:
        """q̂(x_i, a_i) for the given rows."""
        out: FloatArray = des.z[rows] @ self.w0 + np.einsum("ij,ij->i", self._per_value(des, rows), des.u[rows])
        return out

    def _per_value(self, des: Design, rows: np.ndarray) -> FloatArray:
        total = np.zeros((len(rows), self.w.shape[1]))
        for j in range(des.chosen.shape[1]):
            total += self.w[des.chosen[rows, j]]
        return total

    def predict_policy(self, des: Design, rows: np.ndarray, probs: Sequence[Sequence[FloatArray]]) -> FloatArray:
        """E_π[q̂(x_i, ·)] with π given per row as per-dimension probabilities."""
        out = des.z[rows] @ self.w0
        for r_i, r in enumerate(rows):
            mix = np.zeros(self.w.shape[1])
            for j, p in enumerate(probs[r_i]):
                o = des.offsets[j]
                mix += p @ self.w[o : o + len(p)]
            out[r_i] += mix @ des.u[r]
        result: FloatArray = out
        return result


def fit_ridge(des: Design, rows: np.ndarray, rewards: FloatArray, ridge: float = 1.0) -> RidgeModel:
    phi = _phi(des, rows)
    a = phi.T @ phi + ridge * np.eye(phi.shape[1])
    coef = np.linalg.solve(a, phi.T @ rewards[rows])
    m_z = des.z.shape[1]
    return RidgeModel(w0=coef[:m_z], w=coef[m_z:].reshape(des.n_values, des.u.shape[1]))


def cross_fitted(
    decisions: Sequence[LoggedDecision], rng: np.random.Generator, folds: int = 2
) -> tuple[Design, list[tuple[np.ndarray, RidgeModel]]]:
    """Split the decisions into ``folds`` random folds; each fold's predictions come
    from a model fitted on the other folds, so no reward is predicted by a model
    that saw it (the DR estimate stays unbiased by the fit)."""
    normaliser = fit_normaliser(np.array([d.x for d in decisions]), rank=min(RANK, len(decisions)))
    des = design(decisions, normaliser)
    rewards = np.array([d.reward for d in decisions])
    order = rng.permutation(len(decisions))
    parts = np.array_split(order, folds)
    fitted = []
    for i, part in enumerate(parts):
        train = np.concatenate([p for j, p in enumerate(parts) if j != i])
        fitted.append((np.sort(part), fit_ridge(des, train, rewards)))
    return des, fitted
