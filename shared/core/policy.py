"""Policy math (docs/spec.md §4): per-dimension softmax with an exploration floor, and
the softmax policy-gradient update. Pure: numpy and stdlib only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from shared.core.action_space import ActionSpace, Dimension
from shared.core.context import CONTEXT_DIM, FloatArray

Learner = Literal["bandit", "gradient"]
LEARNERS: tuple[str, ...] = get_args(Learner)


@dataclass(frozen=True)
class PolicyParams:
    """Hyperparameters. τ: softmax temperature; ε: exploration floor;
    α_H, α_θ: learning rates of preferences and θ; β: baseline step.

    Exploration schedule (off unless ``epsilon_half_life`` > 0): after n
    learning steps ε_n = min(ε, max(ε_min, ε · 2^(−n / half_life))), see
    ``epsilon_at``. Holdback: a share of decisions uses a fixed baseline action
    (``holdback_action`` overrides the first value of each dimension), see
    ``in_holdback`` and ``baseline_action``.
    """

    tau: float = 1.0
    # The design note's 0.05 floor and 0.05 / 0.01 rates (docs/spec.md §4) were tuned on the learning
    # benchmark (make bench-learning): docs/decisions.md, items 1 and 48.
    epsilon: float = 0.01
    alpha_h: float = 2.0
    alpha_theta: float = 0.25
    beta: float = 0.1
    epsilon_half_life: float = 0.0  # learning steps; 0: ε stays constant
    epsilon_min: float = 0.01
    holdback_share: float = 0.0
    holdback_action: tuple[tuple[str, str], ...] = ()  # (dimension, value) overrides
    # Which learner chooses and learns: 'bandit' (the reward model of shared.core.bandit, chosen
    # by the held-out results in docs/learning.md) or 'gradient' (this module's softmax).
    # τ, α_H, α_θ and the ε schedule are the gradient's; ε, β and the holdback serve both.
    learner: Learner = "bandit"

    def __post_init__(self) -> None:
        if self.learner not in LEARNERS:
            raise ValueError(f"learner must be one of {', '.join(LEARNERS)}, got {self.learner!r}")
        for name in ("tau", "epsilon", "alpha_h", "alpha_theta", "beta", "epsilon_half_life", "epsilon_min"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
        if self.tau <= 0:
            raise ValueError(f"tau must be > 0, got {self.tau}")
        if not 0 <= self.epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")
        if self.alpha_h < 0 or self.alpha_theta < 0:
            raise ValueError("learning rates must be >= 0")
        if not 0 < self.beta <= 1:
            raise ValueError(f"beta must be in (0, 1], got {self.beta}")
        if self.epsilon_half_life < 0:
            raise ValueError(f"epsilon_half_life must be >= 0, got {self.epsilon_half_life}")
        if not 0 <= self.epsilon_min <= 1:
            raise ValueError(f"epsilon_min must be in [0, 1], got {self.epsilon_min}")
        if not (math.isfinite(self.holdback_share) and 0 <= self.holdback_share < 1):
            raise ValueError(f"holdback_share must be in [0, 1), got {self.holdback_share}")
        dims = [d for d, _ in self.holdback_action]
        if len(set(dims)) != len(dims):
            raise ValueError("holdback_action names a dimension twice")


@dataclass(frozen=True)
class DimensionChoice:
    """What was chosen in one dimension and with which probabilities.

    ``pi0`` is the softmax (shape (n_values,)), ``pi`` the floored policy that
    was sampled from; ``propensity`` = pi[chosen]. The explanation of each
    score: ``scores[i] == h[i] + theta_x[i]`` (the preference term and θ·x);
    both are empty for decisions logged before explanations were stored.
    """

    dimension: str
    values: tuple[str, ...]
    scores: tuple[float, ...]
    pi0: tuple[float, ...]
    pi: tuple[float, ...]
    chosen: str
    h: tuple[float, ...] = ()
    theta_x: tuple[float, ...] = ()

    @property
    def chosen_index(self) -> int:
        return self.values.index(self.chosen)

    @property
    def propensity(self) -> float:
        return self.pi[self.chosen_index]


@dataclass(frozen=True)
class Selection:
    choices: tuple[DimensionChoice, ...]
    seed: int
    holdback: bool = False  # the fixed baseline action, not a draw from π
    # The probability under π of the recipes the brand's variety cap left out (docs/variety.md):
    # the action was drawn from π given that it is none of them.
    excluded: float = 0.0

    @property
    def action(self) -> dict[str, str]:
        return {c.dimension: c.chosen for c in self.choices}

    @property
    def joint_propensity(self) -> float:
        """The probability the action was drawn with: Π_d π_d(a_d), over what the cap left."""
        return math.prod(c.propensity for c in self.choices) / (1.0 - self.excluded)


@dataclass(frozen=True)
class Drawn:
    """How a decision's π was made, as its log records it: the learner ('gradient':
    the softmax policy gradient, 'bandit': the reward model of ``shared.core.bandit``), the
    softmax temperature (None for the bandit, which has none) and the ε floor used."""

    learner: Learner
    tau: float | None
    epsilon: float


def explain(choices: tuple[DimensionChoice, ...]) -> dict[str, dict[str, dict[str, float]]] | None:
    """dimension → value → {h, theta_x, score, pi0, pi}, exactly as logged (score = h + theta_x);
    None for decisions logged before the parts were stored."""
    if any(not c.h for c in choices):
        return None
    return {
        c.dimension: {
            v: {"h": c.h[i], "theta_x": c.theta_x[i], "score": c.scores[i], "pi0": c.pi0[i], "pi": c.pi[i]}
            for i, v in enumerate(c.values)
        }
        for c in choices
    }


@dataclass(frozen=True)
class PolicyDelta:
    """The change one reward makes: H[p, tb, d, v] += dh, θ[d, v] += coef · x."""

    dimension: str
    value: str
    dh: float
    coef: float


def softmax(scores: FloatArray, tau: float) -> FloatArray:
    """softmax(scores / τ), shape (n,).

    Subtracting the max before exp keeps every exponent ≤ 0, so nothing
    overflows and the result is unchanged (softmax is shift-invariant).
    """
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError("scores must be a non-empty 1-D array")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite")
    # Shift before dividing: scores / τ could overflow for a small τ. A score
    # far below the max may still become -inf here, and exp(-inf) = 0 is right.
    with np.errstate(over="ignore"):
        z = (scores - scores.max()) / tau
    e = np.exp(z)
    result: FloatArray = e / e.sum()
    return result


def floored(pi0: FloatArray, epsilon: float) -> FloatArray:
    """π = (1 − ε) π⁰ + ε / n: every value keeps at least ε / n probability."""
    result: FloatArray = (1.0 - epsilon) * pi0 + epsilon / pi0.size
    return result


def score_parts(
    values: tuple[str, ...],
    dimension: str,
    preferences: Mapping[tuple[str, str], float],
    theta: Mapping[tuple[str, str], FloatArray],
    x: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """(H[d, v], θ[d, v] · x) for each value, shapes (n_values,); absent rows count as 0."""
    h = np.zeros(len(values))
    tx = np.zeros(len(values))
    for i, v in enumerate(values):
        key = (dimension, v)
        h[i] = preferences.get(key, 0.0)
        th = theta.get(key)
        if th is not None:
            tx[i] = float(th @ x)
    return h, tx


def scores_for(
    values: tuple[str, ...],
    dimension: str,
    preferences: Mapping[tuple[str, str], float],
    theta: Mapping[tuple[str, str], FloatArray],
    x: FloatArray,
) -> FloatArray:
    """s_v = H[d, v] + θ[d, v] · x for each value; absent rows count as 0."""
    h, tx = score_parts(values, dimension, preferences, theta, x)
    s: FloatArray = h + tx
    return s


def epsilon_at(params: PolicyParams, steps: int) -> float:
    """The exploration floor after ``steps`` learning steps (rewards learned from).

    Off (``epsilon_half_life`` = 0): ε. On: ε_n = min(ε, max(ε_min, ε · 2^(−n / half_life))),
    so ε halves every half-life and never drops below ε_min (which keeps every
    propensity ≥ ε_min / |V_d|, as off-policy evaluation needs) nor rises above ε.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if params.epsilon_half_life == 0:
        return params.epsilon
    decayed = params.epsilon * math.pow(2.0, -steps / params.epsilon_half_life)
    return min(params.epsilon, max(params.epsilon_min, decayed))


# The holdback coin is drawn from its own stream of the decision's seed, so it
# is independent of the action draws (which use the seed alone) and reproducible.
_HOLDBACK_STREAM = 1


def in_holdback(seed: int, share: float) -> bool:
    """Whether the decision with ``seed`` is in the holdback arm (probability ``share``)."""
    if share <= 0:
        return False
    return bool(np.random.default_rng([seed, _HOLDBACK_STREAM]).random() < share)


def baseline_action(space: ActionSpace, overrides: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """The holdback arm's fixed action: ``overrides``, else each dimension's first value."""
    action = {d.name: d.values[0] for d in space.dimensions}
    for dim, value in overrides:
        if dim not in action:
            raise ValueError(f"holdback action: {dim!r} is not a dimension")
        if value not in space.dimension(dim).values:
            raise ValueError(f"holdback action: {value!r} is not a value of {dim}")
        action[dim] = value
    return action


def seed_from_id(decision_id: int) -> int:
    """A non-negative 63-bit seed (fits a Postgres bigint) from a 128-bit id."""
    return (decision_id >> 64) & ((1 << 63) - 1)


@dataclass(frozen=True)
class ValueLayout:
    """Where each dimension's values sit when all the space's values are laid end to end
    (dimensions in definition order, each its values in order): the arrays a decision
    reads and writes in one pass (built once per space, shared, read-only)."""

    dimensions: tuple[Dimension, ...]
    blocks: tuple[slice, ...]  # each dimension's values among all values
    starts: np.ndarray  # each dimension's first value
    block_sizes: FloatArray  # per value: its dimension's number of values
    block_of: np.ndarray  # per value: its dimension
    last: np.ndarray  # per dimension: its number of values − 1
    cells: tuple[np.ndarray, np.ndarray]  # per value: (dimension, position), its cell in a padded matrix
    width: int  # the most values a dimension has


@functools.lru_cache(maxsize=32)
def value_layout(space: ActionSpace) -> ValueLayout:
    sizes = [len(d.values) for d in space.dimensions]
    starts = np.cumsum([0, *sizes[:-1]]).astype(np.intp)
    block_of = np.repeat(np.arange(len(sizes)), sizes)
    arrays = (
        starts,
        np.repeat(np.array(sizes, dtype=np.float64), sizes),
        block_of,
        np.array(sizes, dtype=np.intp) - 1,
        block_of,
        np.concatenate([np.arange(n) for n in sizes]),
    )
    for a in arrays:
        a.flags.writeable = False
    return ValueLayout(
        dimensions=space.dimensions,
        blocks=tuple(slice(int(o), int(o) + n) for o, n in zip(starts, sizes, strict=True)),
        starts=arrays[0],
        block_sizes=arrays[1],
        block_of=arrays[2],
        last=arrays[3],
        cells=(arrays[4], arrays[5]),
        width=max(sizes),
    )


def draw(
    lay: ValueLayout,
    h: FloatArray,
    theta_x: FloatArray,
    pi0: FloatArray,
    epsilon: float,
    rng: np.random.Generator,
    fixed: Mapping[str, str] | None,
    avoid: Sequence[tuple[int, ...]] = (),
) -> tuple[tuple[DimensionChoice, ...], float]:
    """Every dimension's choice, from arrays over all values (laid out by ``lay``; shapes
    (n_values,)): π = π⁰ floored by ε within each dimension, sampled by inverse CDF with one
    uniform per dimension, drawn from ``rng`` in definition order; or, with ``fixed`` (the
    holdback arm), those values with π one-hot and nothing drawn. The score of each value
    is h + theta_x.

    In one pass: the floor, the cumulative sums (each dimension's own, in a padded matrix,
    so each sum is exactly the per-dimension one) and the draw. A padded cell repeats its
    dimension's total, so it counts only where the draw is past the total, which the clip
    to the last value turns into the same choice.

    With ``avoid`` (recipes as value positions, docs/variety.md), the action is drawn from π
    given that it is none of them, exactly, with the same one uniform per dimension: see
    ``_draw_avoiding``. Returns (choices, the probability under π of the avoided recipes)."""
    excluded = 0.0
    if fixed is None:
        pi = (1.0 - epsilon) * pi0 + epsilon / lay.block_sizes
        u = rng.random(len(lay.blocks))
        excluded = excluded_mass(lay, pi, avoid) if avoid else 0.0
        if avoid and excluded < MAX_EXCLUDED:
            picks = _draw_avoiding(lay, pi, avoid, u)
        else:
            excluded = 0.0
            padded = np.zeros((len(lay.blocks), lay.width))
            padded[lay.cells] = pi
            # The clip guards the last bucket against cumulative rounding below 1.
            picks = np.minimum((padded.cumsum(axis=1) <= u[:, None]).sum(axis=1), lay.last).tolist()
    else:
        picks = [d.index(fixed[d.name]) for d in lay.dimensions]
        pi = np.zeros(pi0.size)
        pi[lay.starts + picks] = 1.0
    # tolist() gives Python floats, as the logged decision stores them.
    scores, h_all, tx_all = (h + theta_x).tolist(), h.tolist(), theta_x.tolist()
    pi0_all, pi_all = pi0.tolist(), pi.tolist()
    choices = tuple(
        DimensionChoice(
            dimension=dim.name,
            values=dim.values,
            scores=tuple(scores[b]),
            pi0=tuple(pi0_all[b]),
            pi=tuple(pi_all[b]),
            chosen=dim.values[k],
            h=tuple(h_all[b]),
            theta_x=tuple(tx_all[b]),
        )
        for dim, b, k in zip(lay.dimensions, lay.blocks, picks, strict=True)
    )
    return choices, excluded


# When the recipes to avoid hold nearly all of π (an ε of 0 and a sure policy), the cap yields:
# what is left is too little to draw from without dividing by almost nothing.
MAX_EXCLUDED = 1.0 - 1e-9


def excluded_mass(lay: ValueLayout, pi: FloatArray, avoid: Sequence[tuple[int, ...]]) -> float:
    """Σ over the distinct ``avoid`` recipes of Π_d π_d(a_d)."""
    return float(sum(math.prod(pi[lay.starts + np.asarray(a)].tolist()) for a in set(avoid)))


def _draw_avoiding(lay: ValueLayout, pi: FloatArray, avoid: Sequence[tuple[int, ...]], u: FloatArray) -> list[int]:
    """The action drawn from π given that it is no recipe of ``avoid``, one dimension at a
    time with ``u[d]``: dimension d takes v with probability ∝ π_d(v) · P(the rest completes
    the chosen prefix and v to a recipe not avoided). The product of these conditionals is
    π(a) / (1 − π(avoid)) for every a not avoided, and 0 for the avoided."""
    pis = [pi[b] for b in lay.blocks]
    matching = sorted(set(avoid))  # the avoided recipes that agree with the prefix chosen so far
    picks = []
    for d, p in enumerate(pis):
        w = p.copy()
        for recipe in matching:
            # Of π_d(v), the part whose completion is this avoided recipe.
            w[recipe[d]] -= p[recipe[d]] * math.prod(pis[j][recipe[j]] for j in range(d + 1, len(pis)))
        w = np.maximum(w, 0.0)
        cdf = w.cumsum() / w.sum()
        k = min(int(cdf.searchsorted(u[d], side="right")), len(p) - 1)
        picks.append(k)
        matching = [r for r in matching if r[d] == k]
    return picks


def select(
    space: ActionSpace,
    preferences: Mapping[tuple[str, str], float],
    theta: Mapping[tuple[str, str], FloatArray],
    x: FloatArray,
    params: PolicyParams,
    seed: int,
    *,
    fixed: Mapping[str, str] | None = None,
    avoid: Sequence[tuple[int, ...]] = (),
) -> Selection:
    """Sample one value per dimension, independently, from π_d (given that the action is
    none of the recipes ``avoid``, docs/variety.md).

    ``preferences`` holds H for the decision's (platform, time bucket);
    ``theta`` holds θ[d, v], shape (768,). The generator is seeded with
    ``seed`` and draws the dimensions in definition order, so the same seed
    and state always give the same action. ``params.epsilon`` is the floor
    used (already scheduled, see ``epsilon_at``).

    With ``fixed`` (the holdback arm) nothing is drawn: each dimension takes
    ``fixed[d]`` with π one-hot (propensity 1), while scores and π⁰ still
    record what the policy would have done.
    """
    if x.shape != (CONTEXT_DIM,):
        raise ValueError(f"x must have shape ({CONTEXT_DIM},), got {x.shape}")
    parts = [score_parts(dim.values, dim.name, preferences, theta, x) for dim in space.dimensions]
    pi0 = np.concatenate([softmax(h + tx, params.tau) for h, tx in parts])
    h_all, tx_all = np.concatenate([h for h, _ in parts]), np.concatenate([tx for _, tx in parts])
    lay = value_layout(space)
    rng = np.random.default_rng(seed)
    choices, excluded = draw(lay, h_all, tx_all, pi0, params.epsilon, rng, fixed, avoid)
    return Selection(choices=choices, seed=seed, holdback=fixed is not None, excluded=excluded)


def gradient(choices: tuple[DimensionChoice, ...], advantage: float, params: PolicyParams) -> list[PolicyDelta]:
    """Softmax policy gradient for every value of every dimension.

    g_v = 1[v = a_d] − π⁰_d(v), the gradient of log π⁰_d(a_d) with respect to
    the score s_v (times τ). dh = α_H · A · g_v and θ moves by α_θ · A · g_v · x.
    The logged π⁰ is used, so the update is the one for the choice as made.
    """
    if not math.isfinite(advantage):
        raise ValueError(f"advantage must be finite, got {advantage}")
    deltas = []
    for c in choices:
        for i, v in enumerate(c.values):
            g = (1.0 if v == c.chosen else 0.0) - c.pi0[i]
            deltas.append(
                PolicyDelta(
                    dimension=c.dimension,
                    value=v,
                    dh=params.alpha_h * advantage * g,
                    coef=params.alpha_theta * advantage * g,
                )
            )
    return deltas


def fold_baseline(baseline: float, reward: float, beta: float) -> float:
    """b ← b + β (r − b)."""
    return baseline + beta * (reward - baseline)


@dataclass(frozen=True)
class LoggedUpdate:
    """One reward's update as logged: where it was chosen, what, and how it went.
    ``x`` is the context θ saw (x' when a normaliser was applied); ``theta`` False:
    H only (θ was reset since, for another x')."""

    platform: str
    time_bucket: str
    choices: tuple[DimensionChoice, ...]
    x: FloatArray  # shape (768,)
    advantage: float
    theta: bool = True


def summed_step(
    updates: list[LoggedUpdate], params: PolicyParams
) -> tuple[dict[tuple[str, str, str, str], float], dict[tuple[str, str], FloatArray]]:
    """The changes of several updates, summed: (H deltas by (platform, time bucket,
    dimension, value), θ deltas by (dimension, value), each shape (768,)).

    A step depends only on what was logged (π⁰, x, the baseline before the
    reward), never on the current H or θ, so applying the sum equals applying
    the updates one by one, in any order.
    """
    dh: dict[tuple[str, str, str, str], float] = {}
    dtheta: dict[tuple[str, str], FloatArray] = {}
    for u in updates:
        for d in gradient(u.choices, u.advantage, params):
            key = (u.platform, u.time_bucket, d.dimension, d.value)
            dh[key] = dh.get(key, 0.0) + d.dh
            if not u.theta:
                continue
            prev = dtheta.get((d.dimension, d.value))
            step = d.coef * u.x
            dtheta[(d.dimension, d.value)] = step if prev is None else prev + step
    return dh, dtheta
