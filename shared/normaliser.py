"""Context normalisation (SPEC §4, "Features"): centre and whiten x before θ·x.

Sentence embeddings are anisotropic: one direction shared by every text
dominates, and what tells businesses and topics apart lives in a few small
directions. A gradient step on θ moves along x, so with a raw x most of every
step goes into the shared direction (which the preferences H already cover)
and the informative directions learn slowly. The normaliser removes the mean
and rescales the top principal directions to equal variance, and adds one
constant direction back:

    x' = U_k diag(1 / sqrt(λ_k + δ)) U_kᵀ (x − μ) / sqrt(k) + o

fitted on logged contexts (no rewards needed). o is a unit vector orthogonal
to U_k (the direction of μ off U_k): θ·o is a bias per (dimension, value)
shared by every context, which centring alone would take away (the raw x had
one through its shared direction). x' keeps the shape (768,) so θ and the
schema keep theirs; the 1/sqrt(k) makes the whitened part's E‖·‖² ≈ 1, the
scale of the bias, so α_θ moves both alike. Pure: numpy and stdlib only.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from shared.context import FloatArray


@dataclass(frozen=True, eq=False)
class ContextNormaliser:
    """x' = ((x − mean) · basisᵀ · scale) · basis + offset.
    Shapes: mean (n,), basis (k, n), scale (k,), offset (n,)."""

    mean: FloatArray
    basis: FloatArray
    scale: FloatArray
    offset: FloatArray

    def __post_init__(self) -> None:
        n = self.mean.shape[0]
        if self.mean.ndim != 1 or self.basis.ndim != 2 or self.basis.shape[1] != n:
            raise ValueError("mean must be (n,) and basis (k, n)")
        if self.offset.shape != (n,):
            raise ValueError("offset must be (n,)")
        if self.scale.shape != (self.basis.shape[0],):
            raise ValueError("scale must be (k,)")
        for name in ("mean", "basis", "scale", "offset"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be finite")

    @property
    def rank(self) -> int:
        return int(self.basis.shape[0])

    @property
    def version(self) -> str:
        """A content hash: the same numbers are the same version, whoever fitted them."""
        h = hashlib.sha256()
        for arr in (self.mean, self.basis, self.scale, self.offset):
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        return "n1-" + h.hexdigest()[:12]

    def components(self, x: FloatArray) -> FloatArray:
        """The whitened coordinates, shape (k,) for x (n,) or (m, k) for x (m, n)."""
        out: FloatArray = ((x - self.mean) @ self.basis.T) * self.scale
        return out

    def apply(self, x: FloatArray) -> FloatArray:
        """x' in the original coordinates, same shape as x."""
        out: FloatArray = self.components(x) @ self.basis + self.offset
        return out


def fit_normaliser(xs: FloatArray, *, rank: int = 16, shrinkage: float = 1e-3) -> ContextNormaliser:
    """Fit on logged contexts ``xs`` (m, n): mean, top-``rank`` principal directions,
    and scales 1 / sqrt((λ + δ) · rank) with δ = ``shrinkage`` (keeps a direction of
    almost no variance from being blown up into noise)."""
    if xs.ndim != 2 or xs.shape[0] < 2:
        raise ValueError("xs must be (m, n) with m >= 2")
    if not np.all(np.isfinite(xs)):
        raise ValueError("xs must be finite")
    if not 1 <= rank <= min(xs.shape):
        raise ValueError(f"rank must be in 1..{min(xs.shape)}, got {rank}")
    if not (math.isfinite(shrinkage) and shrinkage > 0):
        raise ValueError("shrinkage must be > 0")
    mean = xs.mean(axis=0)
    # SVD of the centred data: rows of vt are the principal directions, s² / (m − 1) their variances.
    _, s, vt = np.linalg.svd(xs - mean, full_matrices=False)
    variances = s[:rank] ** 2 / (xs.shape[0] - 1)
    scale = 1.0 / np.sqrt((variances + shrinkage) * rank)
    basis = vt[:rank].copy()
    # The bias direction: the mean with its part in the basis removed (or, for a
    # zero mean, the first principal direction the basis does not hold).
    off = mean - basis.T @ (basis @ mean)
    if float(np.linalg.norm(off)) < 1e-9:
        off = vt[rank] if rank < vt.shape[0] else np.zeros_like(mean)
    norm = float(np.linalg.norm(off))
    offset = off / norm if norm > 0 else off
    return ContextNormaliser(mean=mean, basis=basis, scale=scale, offset=offset)
