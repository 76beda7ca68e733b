"""Do the off-policy confidence intervals cover the truth? On the simulated
audience the true value of any policy is known, so: log decisions with the
product's policy learning online, estimate the value of each target policy
from the log, and count how often the 95% interval holds the true value.

The true value of a target π^e is taken on the logged contexts:
V = (1/n) Σ_i Σ_a π^e(a | x_i) E[r | x_i, a], the quantity the estimators aim at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from multiprocessing import get_context

import numpy as np

from benchmarks.learners import NORMALISER_DAYS, Feedback, Product
from benchmarks.learning_world import BATCH_HOURS, ExpectedCache, Post, World, WorldConfig, build_world
from shared.core.action_space import ActionSpace
from shared.core.context import PLATFORMS, TIME_BUCKETS, FloatArray
from shared.core.normaliser import fit_normaliser
from shared.core.off_policy import Estimate, evaluate
from shared.core.policy import PolicyParams
from shared.core.target_policies import (
    LoggedDecision,
    LoggingPolicy,
    SoftmaxPolicy,
    TargetPolicy,
    UniformPolicy,
    default_what_ifs,
)

CURRENT = "current policy, on the decisions it learned from"
FROZEN = "policy of a week ago, on the week since"
HOLDOUT_DAYS = 7


@dataclass(frozen=True)
class CoverageScale:
    audiences: int
    runs: int  # logs per audience: same audience, fresh schedule, noise and exploration
    days: int
    businesses: int
    n_boot: int
    truth_draws: int  # Monte Carlo draws behind each true value


FULL_COVERAGE = CoverageScale(audiences=4, runs=25, days=21, businesses=6, n_boot=400, truth_draws=8192)
QUICK_COVERAGE = CoverageScale(audiences=2, runs=2, days=8, businesses=4, n_boot=100, truth_draws=512)


@dataclass(frozen=True)
class Hit:
    policy: str
    estimator: str
    covered: bool
    error: float  # estimate − truth
    width: float
    ess: float
    n: int


def log_decisions(
    world: World, params: PolicyParams, freeze_day: int
) -> tuple[list[LoggedDecision], Product, SoftmaxPolicy]:
    """Run the product's policy through the world (rewards 24 h late, batched);
    return its log, the learner in its final state, and its policy as it was
    when ``freeze_day`` began."""
    xs = np.array([p.x for p in world.posts if p.day < NORMALISER_DAYS])
    product = Product(world.space, params, fit_normaliser(xs), CURRENT)
    rng = np.random.default_rng([world.config.seed, 3])
    log: list[LoggedDecision] = []
    pending: list[Feedback] = []
    batch_end = BATCH_HOURS
    frozen = None
    for post in world.posts:
        while post.hour >= batch_end:
            due = [f for f in pending if f.post.due <= batch_end]
            pending = [f for f in pending if f.post.due > batch_end]
            if due:
                product.learn(due)
            batch_end += BATCH_HOURS
        if frozen is None and post.day >= freeze_day:
            frozen = _policy_of(product, FROZEN)
        choice = product.choose(post, rng)
        reward = world.reward(post, world.joint_index(choice.action))
        pending.append(Feedback(post, choice, reward))
        choices = choice.memo[0]
        log.append(LoggedDecision(PLATFORMS[post.platform], TIME_BUCKETS[post.time_bucket], post.x, choices, reward))
    assert frozen is not None
    return log, product, frozen


def _policy_of(product: Product, name: str) -> SoftmaxPolicy:
    """The product's current state as a target policy (copied: it keeps learning)."""
    return SoftmaxPolicy(
        name,
        {cell: dict(h) for cell, h in product.prefs.items()},
        {k: v.copy() for k, v in product.theta.items()},
        product.params.tau,
        product.params.epsilon,
        product.normaliser,
    )


def true_value(posts: Sequence[Post], world: World, log: Sequence[LoggedDecision], target: TargetPolicy) -> float:
    total = 0.0
    for post, d in zip(posts, log, strict=True):
        joint: FloatArray = reduce(np.multiply.outer, target.probabilities(d)).ravel()
        total += float(joint @ world.expected(post))
    return total / len(log)


def one_audience(args: tuple[int, CoverageScale]) -> list[Hit]:
    seed, scale = args
    cache: ExpectedCache = {}
    space = ActionSpace.load()
    hits = []
    for run in range(scale.runs):
        config = WorldConfig(
            seed=seed,
            days=scale.days,
            businesses=scale.businesses,
            schedule_seed=seed * 1000 + run,
            truth_draws=scale.truth_draws,
        )
        hits += one_run(build_world(config, space, cache), scale)
    return hits


def one_run(world: World, scale: CoverageScale) -> list[Hit]:
    seed = world.config.schedule_seed or world.config.seed
    freeze = scale.days - HOLDOUT_DAYS
    log, product, frozen = log_decisions(world, PolicyParams(), freeze)
    targets: list[TargetPolicy] = [_policy_of(product, CURRENT), UniformPolicy(), LoggingPolicy(), *default_what_ifs()]
    rng = np.random.default_rng([seed, 4])
    estimates: list[Estimate] = evaluate(log, targets, rng, n_boot=scale.n_boot)
    truths = {t.name: true_value(world.posts, world, log, t) for t in targets}
    # The frozen policy did not learn from the last week: evaluated on that week alone.
    recent = [i for i, p in enumerate(world.posts) if p.day >= freeze]
    estimates += evaluate([log[i] for i in recent], [frozen], rng, n_boot=scale.n_boot)
    truths[FROZEN] = true_value([world.posts[i] for i in recent], world, [log[i] for i in recent], frozen)
    return [
        Hit(
            e.policy,
            e.estimator,
            e.ci_low <= truths[e.policy] <= e.ci_high,
            e.value - truths[e.policy],
            e.ci_high - e.ci_low,
            e.ess,
            e.n,
        )
        for e in estimates
    ]


def coverage(scale: CoverageScale, processes: int) -> list[Hit]:
    jobs = [(1000 + s, scale) for s in range(scale.audiences)]
    with get_context("fork").Pool(processes) as pool:
        return [h for hits in pool.map(one_audience, jobs, chunksize=1) for h in hits]


def coverage_summary(hits: list[Hit], ess_threshold: float = 100.0) -> list[str]:
    """Coverage per estimator, pooled over the targets that did not learn from the
    log, split by the effective sample size of the log."""
    rows = [
        f"| estimator | coverage, ESS ≥ {ess_threshold:.0f} | coverage, ESS < {ess_threshold:.0f} |",
        "|---|---|---|",
    ]
    fair = [h for h in hits if h.policy != CURRENT]
    for estimator in dict.fromkeys(h.estimator for h in fair):
        cells = []
        for high in (True, False):
            hs = [h for h in fair if h.estimator == estimator and (h.ess >= ess_threshold) == high]
            cells.append(f"{np.mean([h.covered for h in hs]):.1%} of {len(hs)}" if hs else "–")
        rows.append(f"| {estimator} | {cells[0]} | {cells[1]} |")
    return rows


def _by_target(hits: list[Hit]) -> dict[tuple[str, str], list[Hit]]:
    """The hits of each (target policy, estimator), in the order they first appear."""
    out: dict[tuple[str, str], list[Hit]] = {}
    for h in hits:
        out.setdefault((h.policy, h.estimator), []).append(h)
    return out


def coverage_table(hits: list[Hit]) -> list[str]:
    rows = [
        "| target policy | estimator | coverage of the 95% CI | median ESS (of n) | mean CI width | bias |",
        "|---|---|---|---|---|---|",
    ]
    for (policy, estimator), hs in _by_target(hits).items():
        cov = np.mean([h.covered for h in hs])
        ess = np.median([h.ess for h in hs])
        rows.append(
            f"| {policy} | {estimator} | {cov:.0%} ({len(hs)} runs) | {ess:.0f} ({hs[0].n}) | "
            f"{np.mean([h.width for h in hs]):.4f} | {np.mean([h.error for h in hs]):+.4f} |"
        )
    return rows


def _span(values: Sequence[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.0%}" if f"{lo:.0%}" == f"{hi:.0%}" else f"{lo:.0%}–{hi:.0%}"


def coverage_reading(hits: list[Hit], epsilon: float) -> str:
    """The paragraph that reads the coverage table, its figures taken from ``hits``:
    targets grouped by their effective sample size as a share of n."""
    cells = {  # (policy, estimator) → (coverage, ESS / n)
        key: (float(np.mean([h.covered for h in hs])), float(np.median([h.ess / h.n for h in hs])))
        for key, hs in _by_target(hits).items()
    }
    logging, uniform = LoggingPolicy().name, UniformPolicy().name
    what_ifs = {k: v for k, v in cells.items() if k[0] not in {CURRENT, logging, uniform}}
    wide = {k: v for k, v in what_ifs.items() if v[1] >= 0.25}
    narrow = {k: v for k, v in what_ifs.items() if v[1] < 0.25}

    def cov(group: dict[tuple[str, str], tuple[float, float]], estimators: set[str]) -> str:
        values = [c for (_, e), (c, _) in group.items() if e in estimators]
        return _span(values) if values else "–"

    parts = [
        "Reading it (figures of the run measured here). The logging policy (every weight 1) is covered at "
        f"{cov({k: v for k, v in cells.items() if k[0] == logging}, {'IPS', 'SNIPS', 'DR'})}.",
    ]
    if wide:
        parts.append(
            f"The {len({p for p, _ in wide})} targets that keep an effective sample size of a quarter of n or more "
            "(what-ifs that fix one dimension on one platform, and the policy of a week ago on the week since): "
            f"SNIPS and DR cover {cov(wide, {'SNIPS', 'DR'})}, IPS {cov(wide, {'IPS'})}."
        )
    if narrow:
        parts.append(
            f"The {len({p for p, _ in narrow})} with a smaller ESS ({_span([s for _, s in narrow.values()])} of n, "
            f"what-ifs that fix a dimension everywhere): SNIPS and DR {cov(narrow, {'SNIPS', 'DR'})}, "
            f"IPS {cov(narrow, {'IPS'})}."
        )
    parts.append(
        f"IPS undercovers: with ε = {epsilon} a weight can reach 1/π = {5 / epsilon:,.0f} in a dimension of five "
        "values, and a percentile bootstrap of a mean of such heavy-tailed terms comes out too narrow. "
        f"Far from the log (uniform random once the policy has converged: ESS ≈ "
        f"{_span([s for (p, _), (_, s) in cells.items() if p == uniform])} of n) no estimator is trustworthy "
        f"({cov({k: v for k, v in cells.items() if k[0] == uniform}, {'IPS', 'SNIPS', 'DR'})}). So: read SNIPS or "
        "DR, and the ESS beside them (`learner evaluate` prints it); treat an IPS interval, or any estimate whose "
        "ESS is a few percent of n, as too optimistic about its precision. The in-sample current policy is biased "
        "upwards, as docs/decisions.md (item 51) says. The true values use 8,192 Monte Carlo draws per context: "
        "with the audience's default 256, their shared error alone cost several points of coverage."
    )
    return " ".join(parts)
