"""The reward-model learner as a library: a ridge regression of the reward on the
decision's context and action, with pairwise action terms, forgetting and
per-business residuals; exploration by inverse gap weighting per dimension.

Database-free and pure (numpy and stdlib only). ``RidgeIGW`` is built from an
action space and ``BanditParams``; ``choose`` takes platform, time bucket, the
context's whitened components, the business and a seed and returns the action
with its exact per-dimension propensities; ``learn`` takes a batch of
``Outcome`` (what was chosen and the reward it earned); ``state`` / ``from_state``
carry everything it knows as named float arrays, the form Postgres stores.
docs/learning.md explains the model, its tuning and how it compares.

Model. For context features z (shape (m,)) = [1, platform (4), platform × time
bucket (16), whitened x (k)] and action a = (a_1 … a_D):

    r̂(z, a) = c · z[:5]  +  Σ_d w[d, a_d] · z  +  Σ_{d < e} u[d, e][a_d, a_e]  +  v[business, d, a_d]

c is an intercept per platform shared by every action (``intercept``): with a
weak prior (``intercept_ridge``) it takes the mean reward, so a value that has
not been tried is predicted average instead of 0 (below every tried one). It
never changes a choice. w, u and c are one ridge regression over the sparse
feature vector φ(z, a) (prior precision ``ridge`` for the main terms,
``pair_ridge`` for the pairs):
A = Λ + Σ φ φᵀ, b = Σ r φ, θ = A⁻¹ b. Every learned batch first discounts the
evidence, A ← γⁿ A + (1 − γⁿ) Λ, b ← γⁿ b (γ = ``forget`` per reward; every
business's own evidence forgets on the same clock), so an audience that changes
is followed; and when the recent mean residual of the chosen actions falls
``shift_threshold`` standard errors below 0 (their rewards are suddenly worse
than predicted: the tastes changed), all learned evidence is cut to
``shift_keep`` of itself. v is a per-business ridge on the residual
r − (shared prediction), shrunk to 0 by ``business_ridge`` while the business
has little data; it never enters another business's choice. One business's
weight in the shared statistics is capped at ``business_share`` × everyone
else's plus ``business_floor`` rewards; past that its rewards teach only v.

Arithmetic. A solve over all F features costs F³ (10 ms at the default space),
so A is not kept: the learner keeps P = (A − cΛ)⁻¹, the inverse of the evidence
without the part c of the prior that forgetting has given back since P was last
settled. A batch of n rewards is then a rank-n (Woodbury) update of P, kept as
factors P − U Wᵀ until PENDING_LIMIT of them are folded in at once, and
discounting scales P (by a number kept beside it, not a pass over it) and raises
c: c ← γⁿ c + (1 − γⁿ). θ = A⁻¹ b solves (I + c P Λ) θ = P b, which conjugate
gradients (in Λ^½-scaled form, warm from the last θ) solve to
``SOLVE_TOLERANCE`` in about five products with P while c ≤ ``DEBT_LIMIT``;
past it (every ~220 rewards at γ = 0.999, or after a cut) P is settled,
P ← (I + c P Λ)⁻¹ P and c ← 0. ``precision()`` gives A back.

Choice. The greedy action a* maximises r̂ by coordinate ascent (main terms,
then two sweeps of the pair terms). For each dimension d, ŷ_d(v) = r̂ of a*
with a*_d replaced by v, gap_d(v) = max ŷ_d − ŷ_d(v), and

    p_d(v) = 1 / (n_d + γ_t · gap_d(v))   for v ≠ argmax,  the rest to the argmax
    π_d    = (1 − ε) p_d + ε / n_d

with γ_t = ``gamma_scale`` · √(t + 1) after t learned rewards (inverse gap
weighting, as squarecb does). Dimensions are drawn independently, so π_d(a_d)
is the exact marginal propensity and the joint propensity is their product.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from shared.core.action_space import ActionSpace
from shared.core.context import PLATFORMS, TIME_BUCKETS, FloatArray
from shared.core.policy import PolicyParams, Selection, ValueLayout, draw, floored, value_layout

DEFAULT_RANK: Final = 16  # whitened components of x the deployed learner takes (the normaliser's rank at most)
SHIFT_RATE: Final = 0.02  # the change detector's recent mean covers about the last 100 rewards
SHIFT_WARM_UP: Final = 1_000  # learned rewards before a change can be detected (early residuals shrink fast)
# The prior owed to P before it is settled (module docstring, "Arithmetic"): conjugate gradients
# converge by a factor ≤ 0.06 per step while it is ≤ 0.2, and a settle (one F-sized solve) is
# needed every ~220 rewards.
DEBT_LIMIT: Final = 0.2
SOLVE_TOLERANCE: Final = 1e-10  # θ's residual, relative to the right-hand side's norm
SOLVE_STEPS: Final = 50  # a bound; at DEBT_LIMIT 0.2 the tolerance is met in about 8 from a cold start
# Rank-n updates of P wait as factors (P − U Wᵀ) until they have this many columns: folding one
# in alone rewrites all F² entries, folding 32 at once costs about as much.
PENDING_LIMIT: Final = 32


@dataclass(frozen=True)
class BanditParams:
    """Hyperparameters of ``RidgeIGW`` (docs/learning.md has how they were tuned)."""

    # Tuned on the suite's tuning worlds and seeds (python -m benchmarks.learning_sweep; docs/learning.md).
    gamma_scale: float = 4000.0  # inverse gap weighting: larger explores less
    epsilon: float = 0.01  # floor on every value's probability (÷ n_d), for off-policy evaluation
    ridge: float = 3.0  # prior precision of each value's bias and platform terms
    cell_ridge: float = 30.0  # ... of its platform × time bucket terms
    context_ridge: float = 30.0  # ... of its terms on whitened x
    pair_ridge: float = 32.0  # prior precision of the pairwise action terms
    business_ridge: float = 32.0  # prior precision of a business's own residual terms
    forget: float = 0.999  # evidence kept per learned reward (1: never forget)
    # One business's weight in the shared statistics is at most business_share × everyone
    # else's plus business_floor rewards; beyond that its rewards teach only its own terms.
    business_share: float = 1.0
    business_floor: float = 200.0
    # Change detection: when the recent mean residual of the chosen actions falls this many
    # standard errors below 0, the evidence is cut to shift_keep of itself (0: off).
    shift_threshold: float = 6.0
    shift_keep: float = 0.1
    gamma_by_evidence: bool = False  # γ grows with the evidence kept (forgetting, cuts) instead of all steps
    pairs: bool = True  # pairwise action terms on
    per_business: bool = True  # per-business residuals on
    intercept: bool = True  # an intercept per platform, shared by all actions (an untried value is average)
    intercept_ridge: float = 0.01  # its prior precision

    def __post_init__(self) -> None:
        ridges = ("ridge", "cell_ridge", "context_ridge", "pair_ridge", "business_ridge", "intercept_ridge")
        others = ("forget", "business_share", "business_floor", "shift_threshold", "shift_keep")
        for name in ("gamma_scale", "epsilon", *ridges, *others):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
        if self.gamma_scale <= 0:
            raise ValueError(f"gamma_scale must be > 0, got {self.gamma_scale}")
        if not 0 <= self.epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")
        if min(getattr(self, name) for name in ridges) <= 0:
            raise ValueError(f"{', '.join(ridges)} must be > 0")
        if not 0 < self.forget <= 1:
            raise ValueError(f"forget must be in (0, 1], got {self.forget}")
        if self.business_share <= 0 or self.business_floor < 1:
            raise ValueError("business_share must be > 0 and business_floor >= 1")
        if self.shift_threshold < 0 or not 0 < self.shift_keep <= 1:
            raise ValueError("shift_threshold must be >= 0 and shift_keep in (0, 1]")


@dataclass(frozen=True)
class Decision:
    """What ``learn`` needs back about one choice: where it was made and what was chosen."""

    platform: str
    time_bucket: str
    components: FloatArray  # (k,) whitened x, as the choice saw it (zeros before a normaliser)
    action: tuple[int, ...]  # value index per dimension
    business: str | None = None


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    reward: float


def context_features(platform: str, time_bucket: str, components: FloatArray, rank: int) -> FloatArray:
    """z = [1, one-hot platform (4), one-hot platform × time bucket (16), whitened x (rank)], shape (21 + rank,).
    ``components`` shorter than ``rank`` (no normaliser yet, or a smaller one) are padded with 0."""
    if components.ndim != 1 or components.size > rank:
        raise ValueError(f"components must be 1-D with at most {rank} entries, got shape {components.shape}")
    p, t = PLATFORMS.index(platform), TIME_BUCKETS.index(time_bucket)
    z = np.zeros(1 + len(PLATFORMS) + len(PLATFORMS) * len(TIME_BUCKETS) + rank)
    z[0] = 1.0
    z[1 + p] = 1.0
    z[1 + len(PLATFORMS) + p * len(TIME_BUCKETS) + t] = 1.0
    start = 1 + len(PLATFORMS) + len(PLATFORMS) * len(TIME_BUCKETS)
    z[start : start + components.size] = components
    return z


@dataclass(frozen=True)
class _Layout:
    """Where each feature sits, for one action space, parameters and rank (built once, shared)."""

    sizes: tuple[int, ...]  # values per dimension
    offsets: tuple[int, ...]  # each dimension's first value among all values
    n_values: int
    m: int  # context features per value
    pair_list: tuple[tuple[int, int], ...]  # (d, e), d < e
    pair_offsets: tuple[int, ...]  # each pair's first feature
    n_features: int
    prior: FloatArray  # the ridge's prior precision per feature (read-only)
    pair_cells: tuple[np.ndarray, np.ndarray, np.ndarray]  # (row, column, feature) of every pair term
    values: ValueLayout  # where each dimension's values sit among all values
    context_range: np.ndarray  # arange(m)
    pair_starts: np.ndarray  # pair_offsets as an array
    pair_first: np.ndarray  # per pair: d
    pair_second: np.ndarray  # per pair: e
    pair_second_size: np.ndarray  # per pair: n_e
    pair_ones: FloatArray  # per pair: 1.0 (φ's value on the chosen cell)
    intercept: np.ndarray  # the shared intercept's features (bias, platform), or none


@functools.lru_cache(maxsize=32)
def _layout(space: ActionSpace, params: BanditParams, rank: int) -> _Layout:
    sizes = tuple(len(d.values) for d in space.dimensions)
    offsets = tuple(int(o) for o in np.cumsum([0, *sizes[:-1]]))
    n_values = sum(sizes)
    m = 1 + len(PLATFORMS) + len(PLATFORMS) * len(TIME_BUCKETS) + rank
    n_dims = len(sizes)
    pair_list = tuple((d, e) for d in range(n_dims) for e in range(d + 1, n_dims)) if params.pairs else ()
    pair_offsets, at = [], n_values * m
    rows, cols, source = [], [], []
    for d, e in pair_list:
        pair_offsets.append(at)
        vs, ws = np.meshgrid(np.arange(sizes[d]), np.arange(sizes[e]), indexing="ij")
        rows.append(offsets[d] + vs.ravel())
        cols.append(offsets[e] + ws.ravel())
        source.append(at + np.arange(sizes[d] * sizes[e]))
        at += sizes[d] * sizes[e]
    per_value = np.full(m, params.ridge)
    cells = 1 + len(PLATFORMS)
    per_value[cells : cells + len(PLATFORMS) * len(TIME_BUCKETS)] = params.cell_ridge
    per_value[cells + len(PLATFORMS) * len(TIME_BUCKETS) :] = params.context_ridge
    shared = 1 + len(PLATFORMS) if params.intercept else 0
    prior = np.concatenate(
        [
            np.tile(per_value, n_values),
            np.full(at - n_values * m, params.pair_ridge),
            np.full(shared, params.intercept_ridge),
        ]
    )
    intercept = np.arange(at, at + shared, dtype=np.intp)
    at += shared
    prior.flags.writeable = False
    empty = np.zeros(0, dtype=np.intp)
    pair_cells = (
        np.concatenate(rows) if rows else empty,
        np.concatenate(cols) if cols else empty,
        np.concatenate(source) if source else empty,
    )
    return _Layout(
        sizes,
        offsets,
        n_values,
        m,
        pair_list,
        tuple(pair_offsets),
        at,
        prior,
        pair_cells,
        value_layout(space),
        np.arange(m, dtype=np.intp),
        np.array(pair_offsets, dtype=np.intp),
        np.array([d for d, _ in pair_list], dtype=np.intp),
        np.array([e for _, e in pair_list], dtype=np.intp),
        np.array([sizes[e] for _, e in pair_list], dtype=np.intp),
        np.ones(len(pair_list)),
        intercept,
    )


def _fits(layout: _Layout, state: Mapping[str, FloatArray]) -> bool:
    return _fits_size(layout, state, layout.n_features) or (
        layout.intercept.size > 0 and _fits_size(layout, state, layout.n_features - layout.intercept.size)
    )


def _with_intercept(layout: _Layout, state: Mapping[str, FloatArray]) -> Mapping[str, FloatArray]:
    """A state learned without the shared intercept (an earlier version's, whose features are
    this layout's but for the intercept's, which come last), given the intercept with its
    prior and no evidence; any other state as it is."""
    k, n = layout.intercept.size, layout.n_features
    theta = state.get("theta")
    if k == 0 or theta is None or np.size(theta) != n - k:
        return state
    old, prior = n - k, layout.prior[layout.intercept]
    out = dict(state)
    for key in ("theta", "b"):
        if key in state:
            out[key] = np.concatenate([np.ravel(state[key]), np.zeros(k)])
    if "a" in state:
        a = np.zeros((n, n))
        a[:old, :old] = np.reshape(state["a"], (old, old))
        a[layout.intercept, layout.intercept] = prior
        out["a"] = a
    if "p" in state:
        debt, scale = np.ravel(state["p_terms"])[:2] if np.size(state["p_terms"]) == 2 else (0.0, 1.0)
        p = np.zeros((n, n))
        p[:old, :old] = np.reshape(state["p"], (old, old))
        # P's evidence part of the new block is (1 − c) λ, so that with the prior owed it is λ.
        p[layout.intercept, layout.intercept] = 1.0 / (max(1.0 - float(debt), 1e-12) * prior * float(scale))
        out["p"] = p
        pending = np.ravel(state.get("p_pending", np.zeros(0)))
        out["p_pending"] = np.pad(pending.reshape(-1, old), ((0, 0), (0, k)))
    return out


def _fits_size(layout: _Layout, state: Mapping[str, FloatArray], n: int) -> bool:
    nv = layout.n_values
    sizes = {"p": n * n, "a": n * n, "p_terms": 2, "b": n, "theta": n, "meta": 5}
    for key, arr in state.items():
        want = sizes.get(key)
        if want is None and key.startswith("business/"):
            want = {"a": nv * nv, "b": nv, "v": nv, "weight": 1}.get(key.rsplit("/", 1)[-1])
        if want is not None and np.size(arr) != want:
            return False
    pending = np.size(state.get("p_pending", ()))
    return pending % (2 * n) == 0 and pending // (2 * n) < PENDING_LIMIT


@dataclass
class _Owners:
    """Every business's residual ridge over one-hot values, stacked so that forgetting and
    refitting are one array operation for all of them: precisions (B, n, n), vectors (B, n),
    solutions (B, n) and weights (B,), each business's rewards' effective weight in the shared
    statistics. ``rows`` maps a business to its row."""

    n: int
    ridge: float
    rows: dict[str, int] = field(default_factory=dict)
    a: FloatArray = field(init=False)
    b: FloatArray = field(init=False)
    v: FloatArray = field(init=False)
    weight: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.a, self.b = np.zeros((0, self.n, self.n)), np.zeros((0, self.n))
        self.v, self.weight = np.zeros((0, self.n)), np.zeros(0)

    def row(self, name: str) -> int:
        """The business's row, made (prior only) on first sight."""
        found = self.rows.get(name)
        if found is None:
            found = self.rows[name] = len(self.rows)
            self.a = np.concatenate([self.a, (np.eye(self.n) * self.ridge)[None]])
            self.b = np.concatenate([self.b, np.zeros((1, self.n))])
            self.v = np.concatenate([self.v, np.zeros((1, self.n))])
            self.weight = np.append(self.weight, 0.0)
        return found

    def keep(self, keep: float) -> None:
        diagonal = np.arange(self.n)
        self.a *= keep
        self.a[:, diagonal, diagonal] += (1.0 - keep) * self.ridge
        self.b *= keep
        self.weight *= keep

    def refit(self) -> None:
        if self.rows:
            self.v = np.asarray(np.linalg.solve(self.a, self.b[..., None])[..., 0], dtype=np.float64)


@dataclass
class RidgeIGW:
    """The learner (see the module docstring). ``rank`` is the number of whitened
    components x contributes (the normaliser's rank)."""

    space: ActionSpace
    params: BanditParams = field(default_factory=BanditParams)
    rank: int = 16
    steps: int = 0
    total_weight: float = 0.0  # effective rewards in the shared statistics (decayed like them)
    residual_mean: float = 0.0  # recent mean of r − r̂ of the chosen actions (rate SHIFT_RATE)
    residual_var: float = 0.0  # long-run second moment of r − r̂ (rate SHIFT_RATE / 20), ≥ its variance
    shifts: int = 0  # how often a change was detected
    _p: FloatArray = field(init=False, repr=False)  # (A − debt·Λ)⁻¹ / scale + U Wᵀ
    _u: FloatArray = field(init=False, repr=False)  # (F, r): updates not yet folded into _p
    _w: FloatArray = field(init=False, repr=False)  # (F, r)
    _b: FloatArray = field(init=False, repr=False)
    _debt: float = field(init=False, repr=False, default=0.0)  # the part of Λ that P does not hold
    _scale: float = field(init=False, repr=False, default=1.0)  # P = scale · _p (discounting without a pass)
    _theta: FloatArray = field(init=False, repr=False)
    _pairs: FloatArray = field(init=False, repr=False)
    _owners: _Owners = field(init=False, repr=False)
    choose_only: bool = field(init=False, default=False)  # loaded from a solution without statistics

    def __post_init__(self) -> None:
        if self.rank < 0:
            raise ValueError("rank must be >= 0")
        layout = _layout(self.space, self.params, self.rank)
        self.sizes, self.offsets, self.n_values = layout.sizes, layout.offsets, layout.n_values
        self.m, self.pair_list, self.pair_offsets = layout.m, layout.pair_list, layout.pair_offsets
        self.n_features = layout.n_features
        self._layout = layout
        self._prior = layout.prior
        self._root_prior = np.sqrt(layout.prior)
        # The statistics (n_features², 5 MB at the default space) are made on first use: a
        # learner loaded to choose (``from_state`` without them) never needs them.
        self._p = np.zeros((0, 0))
        self._u = self._w = np.zeros((0, 0))
        self._owners = _Owners(self.n_values, self.params.business_ridge)
        self._b = np.zeros(0)
        self._theta = np.zeros(self.n_features)
        self._pairs = np.zeros((self.n_values, self.n_values))

    # -- the model ---------------------------------------------------------------------------

    def _main(self, z: FloatArray) -> FloatArray:
        """w[d, v] · z for every value, shape (n_values,)."""
        w = self._theta[: self.n_values * self.m].reshape(self.n_values, self.m)
        out: FloatArray = w @ z
        return out

    def _pair_matrix(self) -> FloatArray:
        """The pair terms as one symmetric block matrix over all values, shape (n_values, n_values):
        entry [o_d + v, o_e + w] = u[d, e][v, w]; the diagonal blocks are 0."""
        out = np.zeros((self.n_values, self.n_values))
        rows, cols, source = self._layout.pair_cells
        u = self._theta[source]
        out[rows, cols] = u
        out[cols, rows] = u
        return out

    def _own(self, business: str | None) -> FloatArray:
        found = self._owners.rows.get(business) if business is not None and self.params.per_business else None
        return np.zeros(self.n_values) if found is None else self._owners.v[found]

    def value_scores(self, z: FloatArray, business: str | None) -> tuple[FloatArray, FloatArray]:
        """(ŷ, own): ŷ[o_d + v] is the predicted reward of the greedy action with dimension d
        set to v; own[o_d + v] the value's own term (w[d, v] · z plus the business's), shapes (n_values,)."""
        own = self._main(z) + self._own(business)
        if not self.pair_list:
            return own, own
        blocks = self._layout.values.blocks
        picks = [b.start + int(own[b].argmax()) for b in blocks]
        greedy = np.zeros(self.n_values)
        greedy[picks] = 1.0
        for _ in range(2):  # coordinate ascent: each step can only raise r̂ of the greedy action
            changed = False
            for i, b in enumerate(blocks):
                k = b.start + int((own[b] + self._pairs[b] @ greedy).argmax())
                if k != picks[i]:
                    greedy[picks[i]], greedy[k], picks[i], changed = 0.0, 1.0, k, True
            if not changed:  # a sweep that moves nothing is followed by one that moves nothing
                break
        scores: FloatArray = own + self._pairs @ greedy
        return scores, own

    def gamma(self) -> float:
        t = self.total_weight if self.params.gamma_by_evidence else self.steps
        return self.params.gamma_scale * math.sqrt(t + 1)

    def choose(
        self,
        platform: str,
        time_bucket: str,
        components: FloatArray,
        seed: int,
        *,
        business: str | None = None,
        fixed: Mapping[str, str] | None = None,
        avoid: Sequence[tuple[int, ...]] = (),
    ) -> Selection:
        """One value per dimension, drawn independently from π_d with a generator seeded
        by ``seed`` (one uniform per dimension, in definition order), given that the action
        is none of the recipes ``avoid`` (docs/variety.md). With ``fixed`` (the
        holdback arm) nothing is drawn and π is one-hot. ``scores`` are ŷ_d, ``pi0``
        the inverse-gap weights before the ε floor; the explanation splits each score
        into the value's own term and the part from the rest of the greedy recipe."""
        all_scores, own = self.value_scores(context_features(platform, time_bucket, components, self.rank), business)
        # The explanation: the value's own term, and what the rest of the greedy recipe adds.
        choices, excluded = draw(
            self._layout.values,
            all_scores - own,
            own,
            self._gap_weights(all_scores),
            self.params.epsilon,
            np.random.default_rng(seed),
            fixed,
            avoid,
        )
        return Selection(choices=choices, seed=seed, holdback=fixed is not None, excluded=excluded)

    def _gap_weights(self, scores: FloatArray) -> FloatArray:
        """``inverse_gap_weights`` of every dimension's block of ``scores`` at γ_t, in one pass
        (shape (n_values,))."""
        if not math.isfinite(float(scores.sum())):
            raise ValueError("scores must be finite")
        lay = self._layout.values
        best = np.maximum.reduceat(scores, lay.starts)
        p: FloatArray = 1.0 / (lay.block_sizes + self.gamma() * (best[lay.block_of] - scores))
        first = [b.start + int(scores[b].argmax()) for b in lay.blocks]
        p[first] = 0.0
        p[first] = 1.0 - np.add.reduceat(p, lay.starts)
        return p

    def probabilities(
        self, platform: str, time_bucket: str, components: FloatArray, business: str | None = None
    ) -> list[FloatArray]:
        """π_d of every dimension, as ``choose`` would draw from them (shapes (n_d,))."""
        scores, _ = self.value_scores(context_features(platform, time_bucket, components, self.rank), business)
        pi0 = self._gap_weights(scores)
        return [floored(pi0[b], self.params.epsilon) for b in self._layout.values.blocks]

    def probability_rows(
        self, platforms: Sequence[str], time_buckets: Sequence[str], components: FloatArray
    ) -> FloatArray:
        """``probabilities`` of many contexts at once, without a business's terms (off-policy
        evaluation's): row i is every dimension's π at (platforms[i], time_buckets[i],
        components[i]), concatenated in value order, shape (n, n_values). The same arithmetic
        as one context at a time, vectorised over the rows."""
        n = len(platforms)
        contexts = zip(platforms, time_buckets, components, strict=True)
        z = np.stack([context_features(p, t, c, self.rank) for p, t, c in contexts])
        w = self._theta[: self.n_values * self.m].reshape(self.n_values, self.m)
        own: FloatArray = z @ w.T
        scores = own
        blocks = self._layout.values.blocks
        rows = np.arange(n)
        if self.pair_list:
            picks = np.stack([b.start + own[:, b].argmax(axis=1) for b in blocks], axis=1)
            greedy = np.zeros((n, self.n_values))
            greedy[rows[:, None], picks] = 1.0
            for _ in range(2):  # the coordinate ascent of ``value_scores``, every row at once
                for i, b in enumerate(blocks):
                    k = b.start + (own[:, b] + greedy @ self._pairs[b].T).argmax(axis=1)
                    moved = k != picks[:, i]
                    greedy[rows[moved], picks[moved, i]] = 0.0
                    greedy[rows[moved], k[moved]] = 1.0
                    picks[moved, i] = k[moved]
            scores = own + greedy @ self._pairs.T
        if not np.all(np.isfinite(scores)):
            raise ValueError("scores must be finite")
        lay = self._layout.values
        best = np.maximum.reduceat(scores, lay.starts, axis=1)
        p: FloatArray = 1.0 / (lay.block_sizes + self.gamma() * (best[:, lay.block_of] - scores))
        first = np.stack([b.start + scores[:, b].argmax(axis=1) for b in blocks], axis=1)
        p[rows[:, None], first] = 0.0
        p[rows[:, None], first] = 1.0 - np.add.reduceat(p, lay.starts, axis=1)
        eps = self.params.epsilon
        floored_rows: FloatArray = (1.0 - eps) * p + eps / lay.block_sizes
        return floored_rows

    # -- learning ----------------------------------------------------------------------------

    def _phi(self, z: FloatArray, action: Sequence[int]) -> tuple[np.ndarray, FloatArray]:
        """φ(z, a) as (indices, values): the sparse non-zeros (z per dimension's chosen value,
        then 1 per pair's chosen cell)."""
        lay = self._layout
        a = np.asarray(action, dtype=np.intp)
        main = ((lay.values.starts + a) * self.m)[:, None] + lay.context_range
        pairs = lay.pair_starts + a[lay.pair_first] * lay.pair_second_size + a[lay.pair_second]
        return (
            np.concatenate([main.ravel(), pairs, lay.intercept]),
            np.concatenate([np.tile(z, len(self.sizes)), lay.pair_ones, z[: lay.intercept.size]]),
        )

    def learn(self, batch: Sequence[Outcome]) -> None:
        """Fold a batch of rewards in (after discounting the evidence by γⁿ) and refit."""
        if not batch:
            return
        for o in batch:
            if not math.isfinite(o.reward):
                raise ValueError(f"reward must be finite, got {o.reward}")
            a = o.decision.action
            if len(a) != len(self.sizes) or not all(0 <= i < n for i, n in zip(a, self.sizes, strict=True)):
                raise ValueError(f"action {a} does not fit the action space {self.sizes}")
        self._statistics()
        keep = self.params.forget ** len(batch)
        if keep < 1.0:
            self._keep(keep)
        zs, rows = [], []
        for o in batch:
            d = o.decision
            z = context_features(d.platform, d.time_bucket, d.components, self.rank)
            zs.append(z)
            self._track_residual(
                o.reward
                - self._shared_prediction(z, d.action)
                - self._own(d.business)[[off + a for off, a in zip(self.offsets, d.action, strict=True)]].sum()
            )
            w = self._shared_weight(d.business)
            if w <= 0.0:
                continue
            idx, val = self._phi(z, d.action)
            self._b[idx] += w * o.reward * val
            rows.append((idx, math.sqrt(w) * val))
        self._add_evidence(rows)
        if self._shifted():
            self._cut_evidence(self.params.shift_keep)
        self._refit()
        if self.params.per_business:
            self._learn_businesses(batch, zs)
        self.steps += len(batch)

    def _add_evidence(self, rows: list[tuple[np.ndarray, FloatArray]]) -> None:
        """A ← A + Φᵀ Φ for the rows φ (sparse: indices, values) as a Woodbury update of P:
        P ← P − G (I + Φ G)⁻¹ Gᵀ, G = P Φᵀ."""
        if not rows:
            return
        phi = np.zeros((len(rows), self.n_features))
        for i, (idx, val) in enumerate(rows):
            phi[i, idx] = val
        g = self._p_times(phi.T)  # (F, n)
        inner = phi @ g
        inner[np.diag_indices_from(inner)] += 1.0
        k = np.linalg.solve(inner, g.T) / self._scale  # (n, F)
        self._u = np.hstack([self._u, g])
        self._w = np.hstack([self._w, k.T])
        if self._u.shape[1] >= PENDING_LIMIT:
            self._fold()

    def _p_times(self, v: FloatArray) -> FloatArray:
        """P v for v of shape (F,) or (F, n)."""
        out: FloatArray = self._p @ v
        if self._u.shape[1]:
            out -= self._u @ (self._w.T @ v)
        return self._scale * out

    def _fold(self) -> None:
        """Fold the pending updates into _p (one F × r × F product)."""
        if self._u.shape[1]:
            self._p -= self._u @ self._w.T
            self._u = self._w = np.zeros((self.n_features, 0))

    def _track_residual(self, residual: float) -> None:
        self.residual_mean += SHIFT_RATE * (residual - self.residual_mean)
        slow = SHIFT_RATE / 20
        self.residual_var += slow * (residual * residual - self.residual_var)

    def _shifted(self) -> bool:
        """True when the recent mean residual is below −threshold × its standard error
        (an EWMA of rate a of noise with variance σ² has variance σ² a / (2 − a))."""
        if self.params.shift_threshold <= 0 or self.steps < SHIFT_WARM_UP or self.residual_var <= 0:
            return False
        se = math.sqrt(self.residual_var * SHIFT_RATE / (2 - SHIFT_RATE))
        return self.residual_mean < -self.params.shift_threshold * se

    def _statistics(self) -> None:
        """Make the shared statistics (the prior) on first use; refuse on a learner loaded to choose."""
        if self.choose_only:
            raise ValueError("this learner was loaded from a solution only (no statistics): it can choose, not learn")
        if self._p.size == 0:
            self._p = np.diag(1.0 / self._prior)
            self._u = self._w = np.zeros((self.n_features, 0))
            self._b = np.zeros(self.n_features)
            self._debt, self._scale = 0.0, 1.0

    def _keep(self, keep: float) -> None:
        """Keep ``keep`` of all learned evidence, shared and per business, and of the weights
        counted for the cap; the priors stay whole. Forgetting and a detected change both
        come here; the solutions are refitted by the caller (``learn``). Shared:
        A − cΛ ← keep (A − cΛ), so P ← P / keep, and c ← keep c + (1 − keep)."""
        self._scale /= keep
        self._debt = keep * self._debt + (1.0 - keep)
        self._b *= keep
        self.total_weight *= keep
        self._owners.keep(keep)

    def precision(self) -> FloatArray:
        """A, the shared ridge's precision (prior plus discounted evidence), shape (F, F): for
        inspection and tests; the learner itself keeps its inverse (module docstring)."""
        self._statistics()
        self._fold()
        a = np.asarray(np.linalg.inv(self._scale * self._p), dtype=np.float64)
        a[np.diag_indices_from(a)] += self._debt * self._prior
        return a

    def _settle(self) -> None:
        """Give P the prior it is owed: P ← (A − cΛ + cΛ)⁻¹ = (I + c P Λ)⁻¹ P, c ← 0 (one F-sized solve)."""
        self._fold()
        p = self._scale * self._p
        system = self._debt * p * self._prior  # c P Λ (Λ scales the columns)
        system[np.diag_indices_from(system)] += 1.0
        settled = np.linalg.solve(system, p)
        self._p = 0.5 * (settled + settled.T)
        self._debt, self._scale = 0.0, 1.0

    def forget_context(self) -> None:
        """Drop what was learned about the whitened x, as if every past reward had seen
        components 0 (exactly what a reward before the first normaliser saw): for when
        a new normaliser gives x' a new meaning. The rest of the evidence stays."""
        self._statistics()
        start = 1 + len(PLATFORMS) + len(PLATFORMS) * len(TIME_BUCKETS)
        rows = np.concatenate([np.arange(v * self.m + start, (v + 1) * self.m) for v in range(self.n_values)])
        if rows.size == 0:
            return
        a = self.precision()
        a[rows, :] = 0.0
        a[:, rows] = 0.0
        a[rows, rows] = self._prior[rows]
        inverse = np.linalg.inv(a)
        self._p = 0.5 * (inverse + inverse.T)
        self._debt, self._scale = 0.0, 1.0
        self._b[rows] = 0.0
        self._refit()

    def _cut_evidence(self, keep: float) -> None:
        """After a change of tastes the old rewards describe another audience: keep only ``keep`` of them."""
        self._keep(keep)
        self.residual_mean = 0.0
        self.shifts += 1

    def _shared_weight(self, business: str | None) -> float:
        """The weight of one more reward of ``business`` in the shared statistics, and count it:
        1 while the business holds at most business_share × the others' weight + business_floor,
        the part that fills the allowance up, then 0; 1 while no other business has weight."""
        if business is None or not self.params.per_business:  # no own terms to teach instead
            self.total_weight += 1.0
            return 1.0
        row = self._owners.row(business)
        own = float(self._owners.weight[row])
        others = self.total_weight - own
        if others <= 1e-9:  # alone so far: there is nobody to steer
            w = 1.0
        else:
            allowed = self.params.business_share * others + self.params.business_floor
            w = min(1.0, max(0.0, allowed - own))
        self._owners.weight[row] += w
        self.total_weight += w
        return w

    def _refit(self) -> None:
        """θ = A⁻¹ b: settle P when it owes more than DEBT_LIMIT of the prior, then solve
        (I + c Λ^½ P Λ^½) y = Λ^½ P b, θ = Λ^-½ y, by conjugate gradients warm from the last θ
        (the system's eigenvalues lie in [1, 1 + c / (1 − c)])."""
        if self._debt > DEBT_LIMIT:
            self._settle()
        c, root = self._debt, self._root_prior
        if c == 0.0:
            self._theta = self._p_times(self._b)
        else:
            theta = self._theta
            # The residual Λ^½ P b − M y0 at y0 = Λ^½ θ, in one product: Λ^½ (P (b − c Λ θ) − θ).
            r = root * (self._p_times(self._b - c * self._prior * theta) - theta)
            y = root * theta
            # M is near I, so |y0| (or |r0| from θ = 0) stands for the right-hand side's norm.
            target = (SOLVE_TOLERANCE * max(float(np.linalg.norm(y)), float(np.linalg.norm(r)))) ** 2
            d = r.copy()
            rr = float(r @ r)
            for _ in range(SOLVE_STEPS):
                if rr <= target:
                    break
                q = d + c * root * self._p_times(root * d)
                alpha = rr / float(d @ q)
                y += alpha * d
                r -= alpha * q
                rr, previous = float(r @ r), rr
                d = r + (rr / previous) * d
            self._theta = y / root
        self._pairs = self._pair_matrix()

    def _shared_prediction(self, z: FloatArray, action: Sequence[int]) -> float:
        idx, val = self._phi(z, action)
        return float(self._theta[idx] @ val)

    def _learn_businesses(self, batch: Sequence[Outcome], zs: list[FloatArray]) -> None:
        owners = self._owners
        for o, z in zip(batch, zs, strict=True):
            name = o.decision.business
            if name is None:
                continue
            row = owners.row(name)
            chosen = [o_ + a for o_, a in zip(self.offsets, o.decision.action, strict=True)]
            residual = o.reward - self._shared_prediction(z, o.decision.action)
            owners.a[row][np.ix_(chosen, chosen)] += 1.0
            owners.b[row, chosen] += residual
        owners.refit()  # every business's v: forgetting (and a cut) moved all of them, not only this batch's

    # -- state -------------------------------------------------------------------------------

    def state(self) -> dict[str, FloatArray]:
        """Everything learned, as named float arrays. The statistics: "p" (P / scale + U Wᵀ,
        (n, n); module docstring, "Arithmetic"), "p_terms" = [c, scale], "p_pending" = [Uᵀ; Wᵀ]
        ((2r, n), r < PENDING_LIMIT), "b", and per business
        "business/<id>/a", "/b", "/weight";
        the solution a choice needs: "theta" (n,), "meta" = [steps, weight, recent residual,
        residual second moment, detected changes] and per business "business/<id>/v".
        ``solution_names`` lists what choosing for one business reads."""
        self._statistics()
        out = {
            "p": self._p.copy(),
            "p_terms": np.array([self._debt, self._scale]),
            "p_pending": np.concatenate([self._u.T, self._w.T]),
            "b": self._b.copy(),
        }
        out.update(self.solution())
        owners = self._owners
        for name, row in owners.rows.items():
            out[f"business/{name}/a"] = owners.a[row].copy()
            out[f"business/{name}/b"] = owners.b[row].copy()
            out[f"business/{name}/weight"] = owners.weight[row : row + 1].copy()
        return out

    def fits(self, state: Mapping[str, FloatArray]) -> bool:
        """Whether ``state`` was learned for this learner's layout (action space and rank):
        its arrays have this learner's sizes. An empty state fits (it is the prior)."""
        return _fits(self._layout, state)

    @classmethod
    def restore(
        cls, space: ActionSpace, params: BanditParams, rank: int, state: Mapping[str, FloatArray]
    ) -> tuple[RidgeIGW, bool]:
        """(the learner ``state`` describes, True); or, when the state was learned for another
        action space or rank (``fits``), (a new learner, False): the state's layout is by
        index, so it cannot be read for another space."""
        if not _fits(_layout(space, params, rank), state):
            return cls(space, params, rank), False
        return cls.from_state(space, params, rank, state), True

    def meta(self) -> FloatArray:
        """[steps, total weight, recent residual, residual second moment, detected changes]."""
        return np.array(
            [float(self.steps), self.total_weight, self.residual_mean, self.residual_var, float(self.shifts)]
        )

    def solution(self) -> dict[str, FloatArray]:
        """What choosing reads (a few kB): "theta", "meta" and every business's "v"; the
        same arrays ``state()`` holds under these names."""
        out = {"theta": self._theta.copy(), "meta": self.meta()}
        for name, row in self._owners.rows.items():
            out[f"business/{name}/v"] = self._owners.v[row].copy()
        return out

    @staticmethod
    def is_solution(name: str) -> bool:
        """Whether the array called ``name`` is part of the solution (``solution``)."""
        return name in ("theta", "meta") or (name.startswith("business/") and name.endswith("/v"))

    @staticmethod
    def solution_names(business: str | None) -> tuple[str, ...]:
        """The arrays ``from_state`` needs to choose (for ``business``): a few kB, not the statistics."""
        return ("theta", "meta") if business is None else ("theta", "meta", f"business/{business}/v")

    @classmethod
    def from_state(
        cls, space: ActionSpace, params: BanditParams, rank: int, state: Mapping[str, FloatArray]
    ) -> RidgeIGW:
        """The learner ``state()`` described; arrays may come flat (as Postgres keeps them)
        and are checked against the space and rank. Without "p" and "b" (only the solution,
        ``solution_names``) it can choose but not learn. An empty state is a new learner.
        A state saved before P was kept (with the precision "a" instead), or before the shared
        intercept, is read too."""
        learner = cls(space, params, rank)
        if not state:
            return learner
        state = _with_intercept(learner._layout, state)
        n, nv = learner.n_features, learner.n_values

        def array(key: str, shape: tuple[int, ...]) -> FloatArray:
            arr = np.asarray(state[key], dtype=np.float64)
            if arr.size != math.prod(shape):
                raise ValueError(f"state {key!r} has {arr.size} entries, not {math.prod(shape)} ({shape})")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"state {key!r} must be finite")
            return arr.reshape(shape).copy()

        meta = array("meta", (5,))
        learner.steps, learner.total_weight = int(meta[0]), float(meta[1])
        learner.residual_mean, learner.residual_var, learner.shifts = float(meta[2]), float(meta[3]), int(meta[4])
        learner._theta = array("theta", (n,))
        learner._pairs = learner._pair_matrix()
        learner.choose_only = "p" not in state and "a" not in state
        if "p" in state:
            learner._p, learner._b = array("p", (n, n)), array("b", (n,))
            pending = np.asarray(state["p_pending"], dtype=np.float64)
            r = pending.size // (2 * n)
            if r >= PENDING_LIMIT:
                raise ValueError(f"state 'p_pending' holds {r} updates, more than {PENDING_LIMIT - 1}")
            pending = array("p_pending", (2 * r, n))
            learner._u, learner._w = pending[:r].T.copy(), pending[r:].T.copy()
            terms = array("p_terms", (2,))
            learner._debt, learner._scale = float(terms[0]), float(terms[1])
            if not (0.0 <= learner._debt <= 1.0 and learner._scale > 0.0):
                raise ValueError(f"state 'p_terms' must hold a debt in [0, 1] and a scale > 0, got {terms}")
        elif "a" in state:
            inverse = np.linalg.inv(array("a", (n, n)))
            learner._p, learner._b = 0.5 * (inverse + inverse.T), array("b", (n,))
            learner._u = learner._w = np.zeros((n, 0))
        for key in state:
            if not (key.startswith("business/") and key.endswith("/v")):
                continue
            name = key[len("business/") : -len("/v")]
            row = learner._owners.row(name)
            learner._owners.v[row] = array(key, (nv,))
            if not learner.choose_only:
                learner._owners.a[row] = array(f"business/{name}/a", (nv, nv))
                learner._owners.b[row] = array(f"business/{name}/b", (nv,))
                learner._owners.weight[row] = array(f"business/{name}/weight", (1,))[0]
        return learner


def bandit_params(params: PolicyParams) -> BanditParams:
    """The deployed learner's parameters: the tuned defaults, with the deployment's ε floor."""
    return BanditParams(epsilon=params.epsilon)


def inverse_gap_weights(scores: FloatArray, gamma: float) -> FloatArray:
    """p(v) = 1 / (n + γ (max s − s_v)) for every v but the first argmax, which takes
    the rest; shape (n,). Each p(v) ≤ 1/n for v ≠ argmax, so the argmax keeps ≥ 1/n."""
    if scores.ndim != 1 or scores.size == 0 or not math.isfinite(float(scores.sum())):
        raise ValueError("scores must be a finite, non-empty 1-D array")
    if not (math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be finite and >= 0, got {gamma}")
    n = scores.size
    best = int(scores.argmax())
    p: FloatArray = 1.0 / (n + gamma * (scores[best] - scores))
    p[best] = 0.0
    p[best] = 1.0 - p.sum()
    return p
