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

    r̂(z, a) = Σ_d w[d, a_d] · z  +  Σ_{d < e} u[d, e][a_d, a_e]  +  v[business, d, a_d]

w and u are one ridge regression over the sparse feature vector φ(z, a)
(prior precision ``ridge`` for the main terms, ``pair_ridge`` for the pairs):
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

from shared.action_space import ActionSpace
from shared.context import PLATFORMS, TIME_BUCKETS, FloatArray
from shared.policy import PolicyParams, Selection, draw, floored

DEFAULT_RANK: Final = 16  # whitened components of x the deployed learner takes (the normaliser's rank at most)
SHIFT_RATE: Final = 0.02  # the change detector's recent mean covers about the last 100 rewards
SHIFT_WARM_UP: Final = 1_000  # learned rewards before a change can be detected (early residuals shrink fast)


@dataclass(frozen=True)
class BanditParams:
    """Hyperparameters of ``RidgeIGW`` (docs/learning.md has how they were tuned)."""

    # Tuned on the suite's tuning worlds and seeds (python -m benchmarks.learning_sweep; docs/learning.md).
    gamma_scale: float = 1000.0  # inverse gap weighting: larger explores less
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

    def __post_init__(self) -> None:
        ridges = ("ridge", "cell_ridge", "context_ridge", "pair_ridge", "business_ridge")
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
    blocks: tuple[slice, ...]  # each dimension's values among all values
    starts: np.ndarray  # offsets as an array
    block_sizes: FloatArray  # per value: its dimension's number of values
    block_of: np.ndarray  # per value: its dimension


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
    prior = np.concatenate([np.tile(per_value, n_values), np.full(at - n_values * m, params.pair_ridge)])
    prior.flags.writeable = False
    empty = np.zeros(0, dtype=np.intp)
    pair_cells = (
        np.concatenate(rows) if rows else empty,
        np.concatenate(cols) if cols else empty,
        np.concatenate(source) if source else empty,
    )
    blocks = tuple(slice(o, o + n) for o, n in zip(offsets, sizes, strict=True))
    block_of = np.repeat(np.arange(n_dims), sizes)
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
        blocks,
        np.array(offsets, dtype=np.intp),
        np.repeat(np.array(sizes, dtype=np.float64), sizes),
        block_of,
    )


def _fits(layout: _Layout, state: Mapping[str, FloatArray]) -> bool:
    n, nv = layout.n_features, layout.n_values
    sizes = {"a": n * n, "b": n, "theta": n, "meta": 5}
    for key, arr in state.items():
        want = sizes.get(key)
        if want is None and key.startswith("business/"):
            want = {"a": nv * nv, "b": nv, "v": nv, "weight": 1}.get(key.rsplit("/", 1)[-1])
        if want is not None and np.size(arr) != want:
            return False
    return True


@dataclass
class _Business:
    """A business's residual ridge over one-hot values: precision (n, n), vector (n,) and
    solution (n,); ``weight``: its rewards' effective weight in the shared statistics."""

    a: FloatArray
    b: FloatArray
    v: FloatArray
    weight: float = 0.0


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
    _a: FloatArray = field(init=False, repr=False)
    _b: FloatArray = field(init=False, repr=False)
    _theta: FloatArray = field(init=False, repr=False)
    _pairs: FloatArray = field(init=False, repr=False)
    _businesses: dict[str, _Business] = field(init=False, repr=False, default_factory=dict)
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
        # The statistics (n_features², 5 MB at the default space) are made on first use: a
        # learner loaded to choose (``from_state`` without them) never needs them.
        self._a = np.zeros((0, 0))
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
        found = self._businesses.get(business) if business is not None and self.params.per_business else None
        return np.zeros(self.n_values) if found is None else found.v

    def value_scores(self, z: FloatArray, business: str | None) -> tuple[FloatArray, FloatArray]:
        """(ŷ, own): ŷ[o_d + v] is the predicted reward of the greedy action with dimension d
        set to v; own[o_d + v] the value's own term (w[d, v] · z plus the business's), shapes (n_values,)."""
        own = self._main(z) + self._own(business)
        if not self.pair_list:
            return own, own
        blocks = self._layout.blocks
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
    ) -> Selection:
        """One value per dimension, drawn independently from π_d with a generator seeded
        by ``seed`` (one uniform per dimension, in definition order). With ``fixed`` (the
        holdback arm) nothing is drawn and π is one-hot. ``scores`` are ŷ_d, ``pi0``
        the inverse-gap weights before the ε floor; the explanation splits each score
        into the value's own term and the part from the rest of the greedy recipe."""
        all_scores, own = self.value_scores(context_features(platform, time_bucket, components, self.rank), business)
        pi0s = self._gap_weights(all_scores)
        # The explanation: the value's own term, and what the rest of the greedy recipe adds.
        rest = all_scores - own
        rng = np.random.default_rng(seed)
        choices = []
        for dim, block, pi0 in zip(self.space.dimensions, self._layout.blocks, pi0s, strict=True):
            fix = None if fixed is None else fixed[dim.name]
            choices.append(draw(dim, rest[block], own[block], pi0, self.params.epsilon, rng, fix))
        return Selection(choices=tuple(choices), seed=seed, holdback=fixed is not None)

    def _gap_weights(self, scores: FloatArray) -> list[FloatArray]:
        """``inverse_gap_weights`` of every dimension's block of ``scores`` at γ_t, in one pass."""
        if not math.isfinite(float(scores.sum())):
            raise ValueError("scores must be finite")
        lay = self._layout
        best = np.maximum.reduceat(scores, lay.starts)
        p: FloatArray = 1.0 / (lay.block_sizes + self.gamma() * (best[lay.block_of] - scores))
        first = [b.start + int(scores[b].argmax()) for b in lay.blocks]
        p[first] = 0.0
        p[first] = 1.0 - np.add.reduceat(p, lay.starts)
        return [p[b] for b in lay.blocks]

    def probabilities(
        self, platform: str, time_bucket: str, components: FloatArray, business: str | None = None
    ) -> list[FloatArray]:
        """π_d of every dimension, as ``choose`` would draw from them (shapes (n_d,))."""
        scores, _ = self.value_scores(context_features(platform, time_bucket, components, self.rank), business)
        return [floored(pi0, self.params.epsilon) for pi0 in self._gap_weights(scores)]

    # -- learning ----------------------------------------------------------------------------

    def _phi(self, z: FloatArray, action: Sequence[int]) -> tuple[np.ndarray, FloatArray]:
        """φ(z, a) as (indices, values): the sparse non-zeros."""
        idx, val = [], []
        for o, a in zip(self.offsets, action, strict=True):
            start = (o + a) * self.m
            idx.append(np.arange(start, start + self.m))
            val.append(z)
        for i, (d, e) in enumerate(self.pair_list):
            idx.append(np.array([self.pair_offsets[i] + action[d] * self.sizes[e] + action[e]]))
            val.append(np.ones(1))
        return np.concatenate(idx), np.concatenate(val)

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
        zs = []
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
            self._a[np.ix_(idx, idx)] += w * np.outer(val, val)
            self._b[idx] += w * o.reward * val
        if self._shifted():
            self._cut_evidence(self.params.shift_keep)
        self._refit()
        if self.params.per_business:
            self._learn_businesses(batch, zs)
        self.steps += len(batch)

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
        if self._a.size == 0:
            self._a = np.diag(self._prior)
            self._b = np.zeros(self.n_features)

    def _keep(self, keep: float) -> None:
        """Keep ``keep`` of all learned evidence, shared and per business, and of the weights
        counted for the cap; the priors stay whole. Forgetting and a detected change both
        come here; the solutions are refitted by the caller (``learn``)."""
        self._a *= keep
        self._a[np.diag_indices_from(self._a)] += (1.0 - keep) * self._prior
        self._b *= keep
        self.total_weight *= keep
        for own in self._businesses.values():
            own.a *= keep
            own.a[np.diag_indices_from(own.a)] += (1.0 - keep) * self.params.business_ridge
            own.b *= keep
            own.weight *= keep

    def forget_context(self) -> None:
        """Drop what was learned about the whitened x, as if every past reward had seen
        components 0 (exactly what a reward before the first normaliser saw): for when
        a new normaliser gives x' a new meaning. The rest of the evidence stays."""
        self._statistics()
        start = 1 + len(PLATFORMS) + len(PLATFORMS) * len(TIME_BUCKETS)
        rows = np.concatenate([np.arange(v * self.m + start, (v + 1) * self.m) for v in range(self.n_values)])
        if rows.size == 0:
            return
        self._a[rows, :] = 0.0
        self._a[:, rows] = 0.0
        self._a[rows, rows] = self._prior[rows]
        self._b[rows] = 0.0
        self._refit()

    def _cut_evidence(self, keep: float) -> None:
        """After a change of tastes the old rewards describe another audience: keep only ``keep`` of them."""
        self._keep(keep)
        self.residual_mean = 0.0
        self.shifts += 1

    def _business(self, name: str) -> _Business:
        own = self._businesses.get(name)
        if own is None:
            n = self.n_values
            own = _Business(np.eye(n) * self.params.business_ridge, np.zeros(n), np.zeros(n))
            self._businesses[name] = own
        return own

    def _shared_weight(self, business: str | None) -> float:
        """The weight of one more reward of ``business`` in the shared statistics, and count it:
        1 while the business holds at most business_share × the others' weight + business_floor,
        the part that fills the allowance up, then 0; 1 while no other business has weight."""
        if business is None or not self.params.per_business:  # no own terms to teach instead
            self.total_weight += 1.0
            return 1.0
        own = self._business(business)
        others = self.total_weight - own.weight
        if others <= 1e-9:  # alone so far: there is nobody to steer
            w = 1.0
        else:
            allowed = self.params.business_share * others + self.params.business_floor
            w = min(1.0, max(0.0, allowed - own.weight))
        own.weight += w
        self.total_weight += w
        return w

    def _refit(self) -> None:
        self._theta = np.asarray(np.linalg.solve(self._a, self._b), dtype=np.float64)
        self._pairs = self._pair_matrix()

    def _shared_prediction(self, z: FloatArray, action: Sequence[int]) -> float:
        idx, val = self._phi(z, action)
        return float(self._theta[idx] @ val)

    def _learn_businesses(self, batch: Sequence[Outcome], zs: list[FloatArray]) -> None:
        for o, z in zip(batch, zs, strict=True):
            name = o.decision.business
            if name is None:
                continue
            own = self._business(name)
            onehot = np.zeros(self.n_values)
            onehot[[o_ + a for o_, a in zip(self.offsets, o.decision.action, strict=True)]] = 1.0
            residual = o.reward - self._shared_prediction(z, o.decision.action)
            own.a += np.outer(onehot, onehot)
            own.b += residual * onehot
        # Every business's v: forgetting (and a cut) moved all of them, not only this batch's.
        for own in self._businesses.values():
            own.v = np.asarray(np.linalg.solve(own.a, own.b), dtype=np.float64)

    # -- state -------------------------------------------------------------------------------

    def state(self) -> dict[str, FloatArray]:
        """Everything learned, as named float arrays. The statistics: "a" (the shared
        ridge's precision, (n, n)), "b", and per business "business/<id>/a", "/b", "/weight";
        the solution a choice needs: "theta" (n,), "meta" = [steps, weight, recent residual,
        residual second moment, detected changes] and per business "business/<id>/v".
        ``solution_names`` lists what choosing for one business reads."""
        self._statistics()
        out = {"a": self._a.copy(), "b": self._b.copy(), **self.solution()}
        for name, own in self._businesses.items():
            out[f"business/{name}/a"] = own.a.copy()
            out[f"business/{name}/b"] = own.b.copy()
            out[f"business/{name}/weight"] = np.array([own.weight])
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
        for name, own in self._businesses.items():
            out[f"business/{name}/v"] = own.v.copy()
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
        and are checked against the space and rank. Without "a" and "b" (only the solution,
        ``solution_names``) it can choose but not learn. An empty state is a new learner."""
        learner = cls(space, params, rank)
        if not state:
            return learner
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
        learner.choose_only = "a" not in state
        if not learner.choose_only:
            learner._a, learner._b = array("a", (n, n)), array("b", (n,))
        for key in state:
            if not (key.startswith("business/") and key.endswith("/v")):
                continue
            name = key[len("business/") : -len("/v")]
            v = array(key, (nv,))
            if learner.choose_only:
                learner._businesses[name] = _Business(np.zeros((0, 0)), np.zeros(0), v)
            else:
                learner._businesses[name] = _Business(
                    array(f"business/{name}/a", (nv, nv)),
                    array(f"business/{name}/b", (nv,)),
                    v,
                    float(array(f"business/{name}/weight", (1,))[0]),
                )
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
