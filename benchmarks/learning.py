"""``make bench-learning``: how well the product learns beside standard
contextual-bandit learners, on the simulated audience; writes docs/learning.md.

Each seed is one audience (12 businesses posting once a day on each of the
four platforms); every learner meets the same posts and noise. Rewards arrive
24 h after posting and are learned in 6 h batches. A second scenario redraws
the audience's tastes halfway through. ``--quick`` is a small run for the
test suite (it writes wherever ``--out`` says).
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from benchmarks.learners import (
    EpsilonGreedyLinear,
    Features,
    Learner,
    LinearThompson,
    Product,
    Uniform,
    VowpalSquareCB,
)
from benchmarks.learning_runs import FINAL_SHARE, NORMALISER_DAYS, Trace, recovery_days, run_all
from benchmarks.learning_world import World, WorldConfig, build_world
from benchmarks.off_policy_coverage import (
    FULL_COVERAGE,
    HOLDOUT_DAYS,
    QUICK_COVERAGE,
    CoverageScale,
    Hit,
    coverage,
    coverage_reading,
    coverage_summary,
    coverage_table,
)
from shared.action_space import ActionSpace
from shared.config import PROJECT_ROOT, Settings
from shared.normaliser import fit_normaliser
from shared.policy import PolicyParams

DOC = PROJECT_ROOT / "docs" / "learning.md"
# The raw results of the last run, so the report can be rewritten without rerunning (gitignored).
TRACES = PROJECT_ROOT / "out" / "learning_traces.pkl"
FIGURES = PROJECT_ROOT / "docs" / "figures"
PRODUCT = "product: defaults (normaliser fitted after 300 decisions)"
RAW = "product: defaults, raw x"
BEFORE = "product: before tuning"
PRODUCTS = (PRODUCT, RAW, BEFORE)
EPSILON = PolicyParams().epsilon


@dataclass(frozen=True)
class Scale:
    seeds: tuple[int, ...]
    days: int
    businesses: int


FULL = Scale(seeds=(1, 2, 3, 4, 5), days=168, businesses=12)
QUICK = Scale(seeds=(1, 2), days=21, businesses=4)


def vw_available() -> bool:
    try:
        import vowpalwabbit  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def learners(world: World) -> list[Callable[[World], Learner]]:
    """The contenders, built fresh per run. The normaliser (used by the product's
    defaults and, as their feature map, by the baselines) is fitted on the first
    week's contexts, as it would be on a week of logged decisions."""
    space = world.space
    xs = np.array([p.x for p in world.posts if p.day < NORMALISER_DAYS])
    normaliser = fit_normaliser(xs)
    features = Features(normaliser)
    made: list[Callable[[World], Learner]] = [
        lambda w: Uniform(space),
        lambda w: Product(space, PolicyParams(alpha_h=1.0, alpha_theta=0.2, epsilon=0.05), None, BEFORE),
        lambda w: Product(space, PolicyParams(), None, RAW),
        lambda w: Product(space, PolicyParams(), None, PRODUCT, fit_after=Settings().policy_normaliser_fit_after),
        lambda w: EpsilonGreedyLinear(space, features, epsilon=0.05),
        lambda w: LinearThompson(space, features, scale=0.05),
    ]
    if vw_available():
        made.append(lambda w: VowpalSquareCB(space, features))
    return made


def _job(config: WorldConfig) -> list[Trace]:
    world = build_world(config, ActionSpace.load())
    return run_all(world, learners(world))


def run_benchmark(scale: Scale, processes: int) -> tuple[list[Trace], list[Trace]]:
    """(stationary traces, drifting traces), every learner × seed."""
    configs = [WorldConfig(seed=s, days=scale.days, businesses=scale.businesses) for s in scale.seeds]
    configs += [
        WorldConfig(seed=s, days=scale.days, businesses=scale.businesses, drift_day=scale.days // 2)
        for s in scale.seeds
    ]
    with get_context("fork").Pool(processes) as pool:
        results = pool.map(_job, configs, chunksize=1)
    traces = [t for r in results for t in r]
    return [t for t in traces if t.drift_day is None], [t for t in traces if t.drift_day is not None]


def by_learner(traces: list[Trace]) -> dict[str, list[Trace]]:
    out: dict[str, list[Trace]] = {}
    for t in traces:
        out.setdefault(t.learner, []).append(t)
    return out


def _spread(values: list[float], fmt: str) -> str:
    """ "median (min–max)"; an infinite value (never recovered) shows as "never" / ∞."""

    def show(v: float) -> str:
        return format(v, fmt) if math.isfinite(v) else "∞"

    med = float(np.median(values))
    return f"{show(med) if math.isfinite(med) else 'never'} ({show(min(values))}–{show(max(values))})"


def stationary_table(traces: list[Trace], days: int) -> tuple[list[str], dict[str, float]]:
    first = int(days * (1 - FINAL_SHARE))
    rows = [
        "| learner | final-period mean reward | gap closed, final period | gap closed, first 4 weeks "
        "| cumulative regret |",
        "|---|---|---|---|---|",
    ]
    medians: dict[str, float] = {}
    groups = by_learner(traces)
    ref = groups[next(iter(groups))]
    uniform = [t.window(first, days)[1] for t in ref]
    best = [t.window(first, days)[2] for t in ref]
    for name, ts in groups.items():
        values = [t.window(first, days)[0] for t in ts]
        gaps = [t.gap_closed(first, days) for t in ts]
        early = [t.gap_closed(0, min(28, days)) for t in ts]
        regret = [float(t.regret[-1]) for t in ts]
        medians[name] = float(np.median(values))
        rows.append(
            f"| {name} | {_spread(values, '.4f')} | {_spread(gaps, '.0%')} | {_spread(early, '.0%')} "
            f"| {_spread(regret, '.0f')} |"
        )
    rows.append(f"| *uniform random (exact)* | {_spread(uniform, '.4f')} | 0% | 0% | |")
    rows.append(f"| *best possible* | {_spread(best, '.4f')} | 100% | 100% | 0 |")
    medians["best"] = float(np.median(best))
    medians["uniform"] = float(np.median(uniform))
    return rows, medians


def paired(traces: list[Trace], days: int, product: str) -> list[str]:
    """The product against each baseline seed by seed (same audience, same posts):
    the difference of final-period mean rewards and how often the product is ahead."""
    first = int(days * (1 - FINAL_SHARE))
    groups = by_learner(traces)
    mine = {t.seed: t.window(first, days)[0] for t in groups[product]}
    rows = [
        "| product (normaliser) against | median difference, final period | product ahead on |",
        "|---|---|---|",
    ]
    for name, ts in groups.items():
        if name in {*PRODUCTS, "uniform random"}:
            continue
        diffs = [mine[t.seed] - t.window(first, days)[0] for t in ts]
        ahead = sum(d > 0 for d in diffs)
        rows.append(
            f"| {name} | {np.median(diffs):+.4f} ({min(diffs):+.4f}–{max(diffs):+.4f})"
            f" | {ahead} of {len(diffs)} seeds |"
        )
    return rows


def drift_table(traces: list[Trace], days: int) -> list[str]:
    rows = [
        "| learner | gap closed, week before the drift | gap closed, final period | days to recover |",
        "|---|---|---|---|",
    ]
    for name, ts in by_learner(traces).items():
        d = ts[0].drift_day
        assert d is not None
        before = [t.gap_closed(d - 7, d) for t in ts]
        final = [t.gap_closed(int(days * (1 - FINAL_SHARE)), days) for t in ts]
        recover = [recovery_days(t) for t in ts]
        rows.append(f"| {name} | {_spread(before, '.0%')} | {_spread(final, '.0%')} | {_spread(recover, '.0f')} |")
    return rows


def figures(stationary: list[Trace], drifting: list[Trace], folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for traces, name, title in (
        (stationary, "learning_reward.png", "Mean expected reward per week (median of seeds, band: min–max)"),
        (drifting, "learning_drift.png", "Drifting audience: tastes redrawn at the dashed line"),
    ):
        fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
        for learner, ts in by_learner(traces).items():
            weeks = int(ts[0].day.max()) // 7 + 1
            curves = np.array([[t.window(7 * w, 7 * w + 7)[0] for w in range(weeks)] for t in ts])
            x = np.arange(1, weeks + 1)
            ax.plot(x, np.median(curves, axis=0), label=learner)
            ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), alpha=0.15)
        ref = traces[0]
        weeks = int(ref.day.max()) // 7 + 1
        x = np.arange(1, weeks + 1)
        ax.plot(x, [ref.window(7 * w, 7 * w + 7)[2] for w in range(weeks)], "k--", label=f"best (seed {ref.seed})")
        if ref.drift_day is not None:
            ax.axvline(ref.drift_day / 7 + 0.5, color="grey", linestyle=":")
        ax.set_xlabel("week")
        ax.set_ylabel("mean E[reward] of the chosen actions")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(folder / name)
        plt.close(fig)
        written.append(folder / name)
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    for learner, ts in by_learner(stationary).items():
        regret = np.array([t.regret for t in ts])
        x = np.arange(1, regret.shape[1] + 1)
        ax.plot(x, np.median(regret, axis=0), label=learner)
        ax.fill_between(x, regret.min(axis=0), regret.max(axis=0), alpha=0.15)
    ax.set_xlabel("posts")
    ax.set_ylabel("cumulative expected regret vs the best action")
    ax.set_title("Cumulative regret (median of seeds, band: min–max)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "learning_regret.png")
    plt.close(fig)
    written.append(folder / "learning_regret.png")
    return written


def coverage_section(scale: CoverageScale, hits: list[Hit]) -> list[str]:
    return [
        "## Off-policy evaluation: do the intervals cover the truth?",
        "",
        f"{scale.audiences} audiences × {scale.runs} logs each: {scale.businesses} businesses × {scale.days} days, "
        "logged by the product's policy learning online (defaults, rewards 24 h late). From each log "
        "(shared/off_policy.py, as `python -m learner evaluate` runs it) the value of each target policy is "
        f"estimated with a 95% percentile-bootstrap interval ({scale.n_boot} resamples), and compared with its "
        "true value on the logged contexts, which the simulated audience knows: "
        "V = (1/n) Σᵢ Σₐ π(a | xᵢ) E[r | xᵢ, a]. Coverage is the share of logs whose interval holds V; "
        "nominal is 95%. Bias is the mean of estimate − V.",
        "",
        f"'Policy of a week ago' is the product's policy frozen {HOLDOUT_DAYS} days before the end, evaluated on "
        "those last days only (decisions it did not learn from). 'Current policy' is evaluated on every decision, "
        "including the ones whose rewards it learned from: the dashboard shows that row, marked optimistic.",
        "",
        "Pooled over every target except the in-sample current policy, by the effective sample size of each estimate:",
        "",
        *coverage_summary(hits),
        "",
        "Per target:",
        "",
        *coverage_table(hits),
        "",
        coverage_reading(hits, EPSILON),
        "",
    ]


def report(
    scale: Scale,
    stationary: list[Trace],
    drifting: list[Trace],
    seconds: float,
    command: str,
    coverage_lines: list[str],
) -> str:
    rows, medians = stationary_table(stationary, scale.days)
    first = int(scale.days * (1 - FINAL_SHARE)) + 1
    baselines = {k: v for k, v in medians.items() if k not in {*PRODUCTS, "best", "uniform", "uniform random"}}
    best_name = max(baselines, key=lambda k: baselines[k])
    best_baseline = baselines[best_name]
    product = medians[PRODUCT]
    closed = (product - medians["uniform"]) / (medians["best"] - medians["uniform"])
    params = PolicyParams()
    return "\n".join(
        [
            "# Learning benchmark",
            "",
            f"Rerun: `{command}` ({seconds / 60:.0f} min on this 2-core machine, shared with other work, "
            f"{datetime.now(UTC):%Y-%m-%d}). Generated by benchmarks/learning.py; prose in the generator.",
            "",
            f"{len(scale.seeds)} seeds (audiences) × {scale.days} days × {scale.businesses} businesses posting once "
            f"a day on each of the 4 platforms ({scale.days * scale.businesses * 4:,} posts per run). Rewards reach "
            "the learner 24 h after posting, in 6 h batches, as in production. Values are the audience's exact "
            "expected reward of the chosen actions; cells show the median over seeds (min–max). The final "
            f"period is days {first}–{scale.days}. Gap closed = (learner − uniform) / (best − uniform).",
            "",
            f"Product defaults: α_H = {params.alpha_h}, α_θ = {params.alpha_theta}, ε = {params.epsilon}, "
            f"τ = {params.tau}, β = {params.beta}, and the product's schedule: raw x until "
            f"POLICY_NORMALISER_FIT_AFTER = {Settings().policy_normaliser_fit_after} decisions, then the sweep fits "
            "the normaliser (x' = whitened x (rank 16), a bias and the platform; shared/normaliser.py) on their "
            "contexts, sets θ to 0 and keeps H (docs/decisions.md, item 48); the benchmark's learner does exactly "
            "that at its next reward batch. "
            "'Raw x' never fits one; 'before tuning' is α_H = 1.0, α_θ = 0.2, ε = 0.05 on "
            "raw x. The baselines see the same information, and see it from the first day: platform, platform × "
            f"time bucket and whitened x fitted on the first {NORMALISER_DAYS} days' contexts "
            "(benchmarks/learners.py); each was tuned on a small grid (VW: gamma_scale and learning "
            "rate; ε-greedy: ε; Thompson sampling: the posterior scale).",
            "",
            "## Stationary audience",
            "",
            *rows,
            "",
            f"With its defaults, the product's final-period median is {product:.4f} against {best_baseline:.4f} "
            f"for the best baseline ({best_name}): {'at least as high' if product >= best_baseline else 'lower'} "
            f"by the medians of the seeds. It closes {closed:.0%} of the gap between uniform random and the best "
            "possible. Seed by seed (same audience, same posts), which is the sharper comparison:",
            "",
            *paired(stationary, scale.days, PRODUCT),
            "",
            "Early on the product learns more slowly than VW (first four weeks, which include its first week "
            "on raw x); on raw x throughout it stays at about three quarters of the gap: the normaliser is what "
            "lifts it to the baselines' level (docs/decisions.md, items 1 and 48).",
            "",
            "![mean reward](figures/learning_reward.png)",
            "",
            "![cumulative regret](figures/learning_regret.png)",
            "",
            "## Drifting audience",
            "",
            f"At day {scale.days // 2} every effect table of the audience is drawn afresh (same businesses, topics "
            "and embeddings; new tastes). Days to recover: days after the drift until the 7-day mean share of the "
            "gap closed is back at 90% of its level in the week before the drift (7 is the least possible).",
            "",
            *drift_table(drifting, scale.days),
            "",
            "The product does not recover within the 84 days after the drift: a constant-step policy gradient "
            f"has to unlearn preferences it has grown large, and with ε = {EPSILON} the values it abandoned are tried "
            "rarely. VW's squarecb keeps exploring in proportion to its estimated gaps and recovers fastest; the "
            "regression baselines, which average over all history, recover worse than the product. The "
            "lever the product has for a changed audience is a reset (docs/lifecycle.md), which starts the "
            "preferences afresh and keeps the normaliser; the ε schedule only lowers exploration, so it does not "
            "help here. Automatic forgetting is not built.",
            "",
            "![drift](figures/learning_drift.png)",
            "",
            "Caveats: the simulated audience is additive in the log engagement rate, the structure every learner "
            "here assumes per dimension (VW's joint actions are described by their values, so it assumes it too); "
            "an audience with strong interactions between dimensions would favour joint models. Values are "
            "expected rewards (the audience's exact expectation of the chosen action), so the curves are not "
            "blurred by reward noise; all learners meet the same posts and noise draws.",
            "",
            *coverage_lines,
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.learning", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small run (2 seeds, 21 days, 4 businesses)")
    parser.add_argument("--out", type=Path, default=DOC, help="the Markdown report (default docs/learning.md)")
    parser.add_argument("--figures", type=Path, default=None, help="figure folder (default: docs/figures)")
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--traces", type=Path, default=TRACES, help="where the raw results are kept")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the report from the kept results of the last run"
    )
    parser.add_argument(
        "--coverage-only", action="store_true", help="rerun the off-policy coverage only, keeping the learning runs"
    )
    args = parser.parse_args(argv)
    scale, cov_scale = (QUICK, QUICK_COVERAGE) if args.quick else (FULL, FULL_COVERAGE)
    if args.report_only or args.coverage_only:
        with args.traces.open("rb") as f:
            stationary, drifting, hits, seconds = pickle.load(f)  # written by this module below
    if args.coverage_only:
        started = time.perf_counter()
        hits = coverage(cov_scale, args.processes)
        seconds += time.perf_counter() - started
        with args.traces.open("wb") as f:
            pickle.dump((stationary, drifting, hits, seconds), f)
    elif not args.report_only:
        started = time.perf_counter()
        stationary, drifting = run_benchmark(scale, args.processes)
        hits = coverage(cov_scale, args.processes)
        seconds = time.perf_counter() - started
        args.traces.parent.mkdir(parents=True, exist_ok=True)
        with args.traces.open("wb") as f:
            pickle.dump((stationary, drifting, hits, seconds), f)
    command = "make bench-learning" + (" ARGS=--quick" if args.quick else "")
    text = report(scale, stationary, drifting, seconds, command, coverage_section(cov_scale, hits))
    figures(stationary, drifting, args.figures or args.out.parent / "figures")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
