"""The reward model of the doubly robust estimator: a ridge regression of the
reward on an additive model of the action, cross-fitted.

    q̂(x, a) = w₀ · z(x) + Σ_d w[d, a_d] · u(x)

with z = [1, platform one-hot, platform × time-bucket one-hot, whitened x (k)]
and u = [1, platform one-hot, whitened x (k)]. Additive in the dimensions, so
the expected prediction under a per-dimension policy is exact and cheap:
E_π[q̂(x, ·)] = w₀ · z + Σ_d Σ_v π_d(v) w[d, v] · u. Pure: numpy and stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.core.context import PLATFORMS, TIME_BUCKETS, FloatArray
from shared.core.normaliser import ContextNormaliser, fit_normaliser
from shared.core.target_policies import LoggedArrays

RANK = 8  # whitened directions of x the model sees


@dataclass(frozen=True, eq=False)
class Design:
    """Per decision: context features z (n, m_z), u (n, m_u); chosen value rows (n, n_dims)."""

    z: FloatArray
    u: FloatArray
    chosen: np.ndarray  # global value index per dimension, int (n, n_dims)
    offsets: tuple[int, ...]  # first global value index of each dimension
    n_values: int


def design(log: LoggedArrays, normaliser: ContextNormaliser) -> Design:
    n = len(log.platforms)
    k = normaliser.rank
    comps = np.concatenate([normaliser.components(log.x[i : i + 1024]) for i in range(0, n, 1024)])
    n_p, n_tb = len(PLATFORMS), len(TIME_BUCKETS)
    p = np.array([PLATFORMS.index(v) for v in log.platforms], dtype=np.intp)
    tb = np.array([TIME_BUCKETS.index(v) for v in log.time_buckets], dtype=np.intp)
    rows = np.arange(n)
    z = np.zeros((n, 1 + n_p + n_p * n_tb + k))
    u = np.zeros((n, 1 + n_p + k))
    z[:, 0] = u[:, 0] = 1.0
    z[rows, 1 + p] = u[rows, 1 + p] = 1.0
    z[rows, 1 + n_p + p * n_tb + tb] = 1.0
    z[:, -k:] = comps
    u[:, -k:] = comps
    return Design(z=z, u=u, chosen=log.chosen, offsets=log.offsets, n_values=log.n_values)


def _phi(des: Design, rows: np.ndarray) -> FloatArray:
    """Feature matrix of the logged actions, (len(rows), m_z + n_values · m_u)."""
    m_u = des.u.shape[1]
    out = np.zeros((len(rows), des.z.shape[1] + des.n_values * m_u))
    out[:, : des.z.shape[1]] = des.z[rows]
    base = des.z.shape[1]
    at = np.arange(len(rows))[:, None]
    u = des.u[rows]
    for j in range(des.chosen.shape[1]):
        out[at, base + des.chosen[rows, j][:, None] * m_u + np.arange(m_u)] = u
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

    def predict_policy(self, des: Design, rows: np.ndarray, probs: FloatArray) -> FloatArray:
        """E_π[q̂(x_i, ·)] with π given a row per decision (``rows``), every dimension's
        probabilities concatenated (len(rows), n_values)."""
        result: FloatArray = des.z[rows] @ self.w0 + np.einsum("ij,ij->i", probs @ self.w, des.u[rows])
        return result


def fit_ridge(des: Design, rows: np.ndarray, rewards: FloatArray, ridge: float = 1.0) -> RidgeModel:
    phi = _phi(des, rows)
    a = phi.T @ phi + ridge * np.eye(phi.shape[1])
    coef = np.linalg.solve(a, phi.T @ rewards[rows])
    m_z = des.z.shape[1]
    return RidgeModel(w0=coef[:m_z], w=coef[m_z:].reshape(des.n_values, des.u.shape[1]))


def cross_fitted(
    log: LoggedArrays, rng: np.random.Generator, folds: int = 2
) -> tuple[Design, list[tuple[np.ndarray, RidgeModel]]]:
    """Split the decisions into ``folds`` random folds; each fold's predictions come
    from a model fitted on the other folds, so no reward is predicted by a model
    that saw it (the DR estimate stays unbiased by the fit)."""
    n = len(log.platforms)
    normaliser = fit_normaliser(log.x, rank=min(RANK, n))
    des = design(log, normaliser)
    rewards = log.rewards
    order = rng.permutation(n)
    parts = np.array_split(order, folds)
    fitted = []
    for i, part in enumerate(parts):
        train = np.concatenate([p for j, p in enumerate(parts) if j != i])
        fitted.append((np.sort(part), fit_ridge(des, train, rewards)))
    return des, fitted
