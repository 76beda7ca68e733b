"""Context normalisation (docs/spec.md §4, "Features"): the x' that θ·x' uses.

Sentence embeddings are anisotropic: one direction shared by every text
dominates, and what tells businesses and topics apart lives in a few small
directions. A gradient step on θ moves along x, so with a raw x most of every
step goes into the shared direction and the informative ones learn slowly.
The normaliser centres x and whitens its top principal directions (fitted on
logged contexts, no rewards needed), and lays out x' ∈ R^768 as

    x'[0:k]        = diag(1 / sqrt(λ + δ)) U_kᵀ (x − μ)     whitened components, unit variance
    x'[k]          = 1                                       a bias: θ·x' learns what suits every post
    x'[k+1+p]      = w_p for the post's platform p, else 0   a per-platform preference shared by its time buckets
    x'[k+5:]       = 0

Centring takes away the bias the raw x carried through its shared direction,
so it comes back as a coordinate of its own; the platform coordinates let θ
learn what suits a platform from all of its posts, where H[p, tb] sees a
quarter of them. x' keeps the shape (768,), so θ and the schema keep theirs.
docs/decisions.md (items 1 and 48) has the measurements. Pure: numpy and stdlib only.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from shared.core.context import PLATFORMS, FloatArray

LAYOUT = "whitened+bias+platform/1"


@dataclass(frozen=True, eq=False)
class ContextNormaliser:
    """Shapes: mean (n,), basis (k, n) (orthonormal rows), scale (k,)."""

    mean: FloatArray
    basis: FloatArray
    scale: FloatArray
    platform_weight: float

    def __post_init__(self) -> None:
        n = self.mean.shape[0]
        if self.mean.ndim != 1 or self.basis.ndim != 2 or self.basis.shape[1] != n:
            raise ValueError("mean must be (n,) and basis (k, n)")
        if self.scale.shape != (self.basis.shape[0],):
            raise ValueError("scale must be (k,)")
        if self.rank + 1 + len(PLATFORMS) > n:
            raise ValueError(f"rank {self.rank} leaves no room for the bias and platform coordinates")
        for name in ("mean", "basis", "scale"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be finite")
        if not (math.isfinite(self.platform_weight) and self.platform_weight >= 0):
            raise ValueError("platform_weight must be finite and >= 0")

    @property
    def rank(self) -> int:
        return int(self.basis.shape[0])

    @property
    def version(self) -> str:
        """A content hash: the same numbers and layout are the same version, whoever fitted them."""
        h = hashlib.sha256(f"{LAYOUT}/{self.platform_weight!r}".encode())
        for arr in (self.mean, self.basis, self.scale):
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        return "n1-" + h.hexdigest()[:12]

    def components(self, x: FloatArray) -> FloatArray:
        """Whitened coordinates: (k,) for x (n,), or (m, k) for x (m, n)."""
        out: FloatArray = ((x - self.mean) @ self.basis.T) * self.scale
        return out

    def apply(self, x: FloatArray, platform: str) -> FloatArray:
        """x' for one context, shape (n,)."""
        if x.shape != self.mean.shape:
            raise ValueError(f"x must have shape {self.mean.shape}, got {x.shape}")
        out = np.zeros_like(self.mean)
        k = self.rank
        out[:k] = self.components(x)
        out[k] = 1.0
        out[k + 1 + PLATFORMS.index(platform)] = self.platform_weight
        return out


@dataclass(frozen=True)
class FittedNormaliser:
    """A normaliser as stored: with when and on how many logged contexts it was fitted."""

    normaliser: ContextNormaliser
    fitted_at: datetime
    fitted_on: int


_BLOCK = 1024  # rows of contexts per step of the covariance sum


def fit_normaliser(
    xs: FloatArray, *, rank: int = 16, shrinkage: float = 1e-3, platform_weight: float = 2.0
) -> ContextNormaliser:
    """Fit on logged contexts ``xs`` (m, n): the mean, the top-``rank`` principal
    directions and scales 1 / sqrt(λ + δ), δ = ``shrinkage`` (keeps a direction of
    almost no variance from being blown up into noise)."""
    if xs.ndim != 2 or xs.shape[0] < 2:
        raise ValueError("xs must be (m, n) with m >= 2")
    if not np.all(np.isfinite(xs)):
        raise ValueError("xs must be finite")
    if not 1 <= rank <= min(xs.shape[0], xs.shape[1] - 1 - len(PLATFORMS)):
        raise ValueError(f"rank must be in 1..{min(xs.shape[0], xs.shape[1] - 1 - len(PLATFORMS))}, got {rank}")
    if not (math.isfinite(shrinkage) and shrinkage > 0):
        raise ValueError("shrinkage must be > 0")
    mean = xs.mean(axis=0)
    # The principal directions are the top eigenvectors of the covariance (n × n), summed
    # over blocks of rows: memory stays a few n × n arrays however many contexts there are
    # (an SVD of the centred data would hold two more copies of it).
    covariance = np.zeros((xs.shape[1], xs.shape[1]))
    for start in range(0, xs.shape[0], _BLOCK):
        block = xs[start : start + _BLOCK] - mean
        covariance += block.T @ block
    covariance /= xs.shape[0] - 1
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    top = np.argsort(eigenvalues)[::-1][:rank]
    basis = eigenvectors[:, top].T.copy()
    # A direction's sign is arbitrary: its largest coordinate is made positive, so a fit is reproducible.
    basis *= np.sign(basis[np.arange(rank), np.argmax(np.abs(basis), axis=1)])[:, None]
    variances = np.maximum(eigenvalues[top], 0.0)
    return ContextNormaliser(
        mean=mean, basis=basis, scale=1.0 / np.sqrt(variances + shrinkage), platform_weight=platform_weight
    )
