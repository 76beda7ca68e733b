"""``make bench-learning``: how well the learners learn on the **held-out** worlds
of the suite (benchmarks/worlds.py), beside the standard contextual-bandit
learners; writes docs/learning.md.

Each held-out world runs with seeds ``HELD_OUT_SEEDS``: worlds and seeds that no
tuning round (benchmarks/learning_sweep.py) has seen. Every learner meets the
same posts and noise; rewards arrive 24 h after posting and are learned in 6 h
batches. ``--quick`` is a small run for the test suite (it writes wherever
``--out`` says).
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

from benchmarks.learner_cost import cost_section
from benchmarks.learners import Bandit, Learner, Product, Uniform, baselines
from benchmarks.learning_runs import FINAL_SHARE, Trace, recovery_days, run
from benchmarks.learning_world import World
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
from benchmarks.suite import EARLY_DAYS, SUITE_DAYS, suite_world
from benchmarks.worlds import HELD_OUT_SEEDS, SUITE, TUNING_SEEDS, WORLDS
from shared.config import PROJECT_ROOT, Settings
from shared.core.bandit import BanditParams
from shared.core.policy import PolicyParams

DOC = PROJECT_ROOT / "docs" / "learning.md"
# The raw results of the last run, so the report can be rewritten without rerunning (gitignored).
TRACES = PROJECT_ROOT / "out" / "learning_traces.pkl"
FIGURES = PROJECT_ROOT / "docs" / "figures"
DEFAULT = "reward model + IGW (default)"
# The default sees the business id (its per-business terms); the baselines do not. This row
# shows what the id is worth: the same learner with the id withheld.
ANONYMOUS = "reward model + IGW, business id withheld"
GRADIENT = "policy gradient (the seed's learner, re-tuned)"
UNIFORM = "uniform random"
OURS = (DEFAULT, ANONYMOUS, GRADIENT)
EPSILON = PolicyParams().epsilon


@dataclass(frozen=True)
class Scale:
    worlds: tuple[str, ...]
    seeds: tuple[int, ...]
    days: int
    businesses: int | None  # None: each world's own


FULL = Scale(
    worlds=tuple(w.name for w in SUITE if not w.tuning), seeds=HELD_OUT_SEEDS, days=SUITE_DAYS, businesses=None
)
QUICK = Scale(worlds=("own-tastes", "drift-own"), seeds=(1, 2), days=28, businesses=4)


def learners(world: World) -> list[tuple[str, Callable[[World], Learner]]]:
    """The contenders, built fresh per run: ours as deployed (the normaliser fitted
    after POLICY_NORMALISER_FIT_AFTER decisions), then the baselines."""
    space = world.space
    fit_after = Settings().policy_normaliser_fit_after
    return [
        (UNIFORM, lambda w: Uniform(space)),
        (DEFAULT, lambda w: Bandit(space, BanditParams(), DEFAULT, fit_after=fit_after)),
        (ANONYMOUS, lambda w: Bandit(space, BanditParams(), ANONYMOUS, fit_after=fit_after, with_business=False)),
        (GRADIENT, lambda w: Product(space, PolicyParams(), None, GRADIENT, fit_after=fit_after)),
        *baselines(world),
    ]


def _job(args: tuple[str, int, int, int | None]) -> list[Trace]:
    name, seed, days, businesses = args
    world = suite_world(name, seed, days, businesses=businesses)
    traces = []
    for label, make in learners(world):
        learner = make(world)
        learner.name = label
        traces.append(run(world, learner, seed))
    return traces


def run_benchmark(scale: Scale, processes: int) -> dict[str, list[Trace]]:
    """World → traces of every learner × seed. The large worlds go first, so the pool ends evenly."""
    jobs = [(w, s, scale.days, scale.businesses) for w in scale.worlds for s in scale.seeds]
    jobs.sort(key=lambda j: not WORLDS[j[0]].large_space)
    with get_context("fork").Pool(processes) as pool:
        results = pool.map(_job, jobs, chunksize=1)
    out: dict[str, list[Trace]] = {w: [] for w in scale.worlds}
    for job, traces in zip(jobs, results, strict=True):
        for t in traces:
            out[job[0]].append(t)
    return out


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


@dataclass(frozen=True)
class Verdict:
    """How the default did on one world against the best baseline (by median final reward)."""

    best_baseline: str
    median_diff: float  # default − best baseline, final-period mean reward (medians)
    worst_seed_gap: float  # min over seeds of (default − baseline) / (best − uniform), against that baseline
    early_vs_vw: float | None  # median over seeds of (default − VW) gap closed in the first four weeks
    recovery: float | None  # median days to recover, drift worlds


def world_table(traces: list[Trace], days: int) -> tuple[list[str], Verdict]:
    first = int(days * (1 - FINAL_SHARE))
    early = min(EARLY_DAYS, days)
    groups = by_learner(traces)
    drift = traces[0].drift_day is not None
    head = "| learner | final-period mean reward | gap closed, end | gap closed, first 4 weeks | cumulative regret |"
    rows = [head + (" days to recover |" if drift else ""), "|---|---|---|---|---|" + ("---|" if drift else "")]
    for name, ts in groups.items():
        if name == UNIFORM:
            continue
        cells = [
            _spread([t.window(first, days)[0] for t in ts], ".4f"),
            _spread([t.gap_closed(first, days) for t in ts], ".0%"),
            _spread([t.gap_closed(0, early) for t in ts], ".0%"),
            _spread([float(t.regret[-1]) for t in ts], ".0f"),
        ]
        if drift:
            cells.append(_spread([recovery_days(t) for t in ts], ".0f"))
        label = f"**{name}**" if name == DEFAULT else name
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    ref = groups[DEFAULT]
    rows.append(f"| *uniform random (exact)* | {_spread([t.window(first, days)[1] for t in ref], '.4f')} | 0% | 0% | |")
    rows.append(f"| *best possible* | {_spread([t.window(first, days)[2] for t in ref], '.4f')} | 100% | 100% | 0 |")
    if drift:
        rows[-1] += " |"
        rows[-2] += " |"

    def final(ts: list[Trace]) -> dict[int, float]:
        return {t.seed: t.window(first, days)[0] for t in ts}

    mine = final(ref)
    others = {n: final(ts) for n, ts in groups.items() if n not in {*OURS, UNIFORM}}
    best_name = max(others, key=lambda n: float(np.median(list(others[n].values()))))
    span = {t.seed: t.window(first, days)[2] - t.window(first, days)[1] for t in ref}
    worst = min((mine[s] - others[best_name][s]) / span[s] for s in mine)
    vw = groups.get("VW squarecb")
    early_vs_vw = None
    if vw is not None:
        vw_early = {t.seed: t.gap_closed(0, early) for t in vw}
        early_vs_vw = float(np.median([t.gap_closed(0, early) - vw_early[t.seed] for t in ref]))
    verdict = Verdict(
        best_baseline=best_name,
        median_diff=float(np.median(list(mine.values())) - np.median(list(others[best_name].values()))),
        worst_seed_gap=worst,
        early_vs_vw=early_vs_vw,
        recovery=float(np.median([recovery_days(t) for t in ref])) if drift else None,
    )
    return rows, verdict


def verdict_table(verdicts: dict[str, Verdict]) -> list[str]:
    rows = [
        "| held-out world | best baseline | default − best baseline (medians) | worst seed, share of the gap "
        "| first 4 weeks, default − VW | days to recover |",
        "|---|---|---|---|---|---|",
    ]
    for world, v in verdicts.items():
        early = "" if v.early_vs_vw is None else f"{v.early_vs_vw:+.0%}"
        rec = "" if v.recovery is None else ("never" if not math.isfinite(v.recovery) else f"{v.recovery:.0f}")
        rows.append(
            f"| {world} | {v.best_baseline} | {v.median_diff:+.4f} | {v.worst_seed_gap:+.1%} | {early} | {rec} |"
        )
    return rows


def aims(verdicts: dict[str, Verdict]) -> str:
    """The verdict table read against the aims, in words computed from it."""
    n = len(verdicts)
    at_least = [w for w, v in verdicts.items() if v.median_diff >= 0]
    short = [f"{w} ({v.worst_seed_gap:+.1%})" for w, v in verdicts.items() if v.worst_seed_gap < -0.01]
    faster = [w for w, v in verdicts.items() if v.early_vs_vw is not None and v.early_vs_vw >= 0]
    drift = {w: v.recovery for w, v in verdicts.items() if v.recovery is not None}
    slow = [f"{w} ({d:.0f} days)" if math.isfinite(d) else f"{w} (never)" for w, d in drift.items() if d > 21]
    return " ".join(
        [
            f"Against the aims: the default's median is at or above the best baseline's on {len(at_least)} of "
            f"{n} held-out worlds.",
            "No seed falls more than 1% of the gap below the best baseline."
            if not short
            else f"A seed falls more than 1% of the gap below the best baseline on {', '.join(short)}.",
            f"It learns at least as fast as VW in the first four weeks on {len(faster)} of {n}.",
            "It recovers from every drift within 21 days."
            if not slow
            else f"Recovery takes longer than 21 days on {', '.join(slow)}.",
        ]
    )


def figure(results: dict[str, list[Trace]], folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    n = len(results)
    cols = min(4, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), dpi=100, squeeze=False)
    for ax, (world, traces) in zip(axes.flat, results.items(), strict=False):
        for learner, ts in by_learner(traces).items():
            if learner == UNIFORM:
                continue
            weeks = int(ts[0].day.max()) // 7 + 1
            curves = np.array([[t.gap_closed(7 * w, 7 * w + 7) for w in range(weeks)] for t in ts])
            ax.plot(
                np.arange(1, weeks + 1), np.median(curves, axis=0), label=learner, lw=2.2 if learner == DEFAULT else 1.1
            )
        if traces[0].drift_day is not None:
            ax.axvline(traces[0].drift_day / 7 + 0.5, color="grey", linestyle=":")
        ax.set_title(world, fontsize=10)
        ax.set_ylim(-0.1, 1.0)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].set_ylabel("share of the gap closed, per week")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    path = folder / "learning_suite.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def coverage_section(scale: CoverageScale, hits: list[Hit]) -> list[str]:
    return [
        "## Off-policy evaluation: do the intervals cover the truth?",
        "",
        f"{scale.audiences} audiences × {scale.runs} logs each: {scale.businesses} businesses × {scale.days} days, "
        "logged by the product's policy learning online (defaults, rewards 24 h late). From each log "
        "(shared/core/off_policy.py, as `python -m cli evaluate` runs it) the value of each target policy is "
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
    results: dict[str, list[Trace]],
    seconds: float,
    command: str,
    coverage_lines: list[str],
    cost_lines: list[str],
) -> str:
    params, gradient = BanditParams(), PolicyParams()
    suite_rows = ["| world | role | what it models | businesses |", "|---|---|---|---|"]
    for w in SUITE:
        role = f"tuning (seeds {', '.join(map(str, TUNING_SEEDS))})" if w.tuning else "**held out**"
        suite_rows.append(f"| {w.name} | {role} | {w.about} | {w.businesses} |")
    sections, verdicts = [], {}
    for world, traces in results.items():
        rows, verdict = world_table(traces, scale.days)
        verdicts[world] = verdict
        sections += [f"### {world}: {WORLDS[world].about}", "", *rows, ""]
    first = int(scale.days * (1 - FINAL_SHARE)) + 1
    return "\n".join(
        [
            "# Learning benchmark",
            "",
            f"Rerun: `{command}` ({seconds / 60:.0f} min on this 2-core machine, "
            f"{datetime.now(UTC):%Y-%m-%d}). Generated by benchmarks/learning.py; prose in the generator.",
            "",
            "## Protocol",
            "",
            "The learners are tuned on some worlds and seeds and reported on others. The suite "
            "(benchmarks/worlds.py) has twelve simulated audiences; every one turns engagement counts into rewards "
            "with the product's own reward formula (follower normalisation, slot weights, deletions). "
            "`python -m benchmarks.learning_sweep` tunes on the tuning worlds with seeds "
            f"{', '.join(map(str, TUNING_SEEDS))} only, and refuses a held-out world; this report runs the held-out "
            f"worlds with seeds {', '.join(map(str, scale.seeds))}, which tuning never saw. Two caveats: the "
            "held-out report was run four times while the default was being built (the change detector was "
            "added after the first run showed slow drift recovery, and the shared intercept after the third "
            "still missed 21 days; the settings of both were chosen on the tuning worlds only); and the policy "
            "gradient's defaults date from rounds on the demo's audience that used seeds 1–5 "
            "(docs/decisions.md, item 1), whose base effect tables the held-out worlds share, which favours the "
            "gradient, not the default.",
            "",
            *suite_rows,
            "",
            f"Each run: {scale.days} days; every business posts once a day on each platform it uses, at a random "
            "local hour, about one of 15 topics. Rewards reach the learner 24 h after posting, in 6 h batches, as in "
            "production. Values are the audience's exact expected reward of the chosen actions; cells show the "
            f"median over seeds (min–max). The final period is days {first}–{scale.days}; the first four weeks are "
            "days 1–28. Gap closed = (learner − uniform) / (best − uniform). A drift world changes at half time: "
            "abruptly, or a quarter of the way each week for four weeks; days to recover count from the day the "
            "tastes have finished changing until the 7-day mean share of the gap closed is back at 90% of its level "
            "in the week before the drift began (7 is the least possible).",
            "",
            "The learners:",
            "",
            f"- **{DEFAULT}** (shared/core/bandit.py): a ridge regression of the reward on context × value, with "
            "pairwise action terms, per-business residuals and an intercept per platform shared by all actions "
            "(so an untried value is predicted average, not 0); inverse gap weighting per dimension with exact "
            "propensities. "
            f"Defaults: γ₀ = {params.gamma_scale:g}, ε = {params.epsilon:g}, prior precisions {params.ridge:g} "
            f"(bias, platform) / {params.cell_ridge:g} (platform × time bucket) / {params.context_ridge:g} "
            f"(whitened x) / {params.pair_ridge:g} (pairs) / {params.business_ridge:g} (business), forgetting "
            f"{params.forget:g} per reward, evidence cut to {params.shift_keep:g} when the chosen actions' recent "
            f"mean residual is {params.shift_threshold:g} standard errors below 0 (docs/learner-library.md).",
            f"- **{GRADIENT}** (shared/core/policy.py): the softmax policy gradient, α_H = {gradient.alpha_h}, "
            f"α_θ = {gradient.alpha_theta}, ε = {gradient.epsilon}.",
            "- Both run as deployed: x contributes nothing until POLICY_NORMALISER_FIT_AFTER = "
            f"{Settings().policy_normaliser_fit_after} decisions, then the normaliser (x' = whitened x, rank 16) is "
            "fitted on their contexts. The baselines (benchmarks/learners.py) see platform, platform × time bucket "
            "and whitened x fitted on the first week's contexts from the first day: ε-greedy linear (ε = 0.05), "
            "linear Thompson sampling per dimension and VW `cb_explore_adf --squarecb` over the joint actions "
            "(gamma_scale 1000, -l 2, interactions of context and action). Only the default sees which business "
            "posts (for its per-business terms); the row with the business id withheld is the same learner without "
            "it, so the gain that the id brings can be read off.",
            "",
            "## Verdict per held-out world",
            "",
            *verdict_table(verdicts),
            "",
            aims(verdicts),
            "",
            "'Worst seed' is the default's shortfall against that baseline on its worst seed, as a share of the gap "
            "between uniform and best (the aim: never below −1%). 'First 4 weeks' is the median over seeds of the "
            "default's gap closed in days 1–28 minus VW's.",
            "",
            "![per world](figures/learning_suite.png)",
            "",
            "## Per world",
            "",
            *sections,
            "## Cost",
            "",
            "Measured on the default action space after 2,000 learned rewards (benchmarks/learner_cost.py), one "
            "process, single-threaded BLAS. The learner keeps the inverse of the ridge's precision, so an update "
            "is a low-rank (Woodbury) change of it and a few conjugate-gradient steps for θ, not a solve over all "
            'the features (shared/core/bandit.py, "Arithmetic"); about every 220 rewards the inverse is settled with '
            "one solve (tens of ms), which the mean includes and the median does not. The state is that inverse and "
            "its vector (F² + F floats, F = Σ_d n_d · (21 + rank) + Σ_{d<e} n_d n_e + 5 = 802 at the default space "
            "with "
            "rank 16, plus at most 31 pending updates of 2F floats each) and n² + n + 1 floats per business "
            "(n = Σ_d n_d = 18).",
            "",
            *cost_lines,
            "",
            *coverage_lines,
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.learning", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small run (2 worlds × 2 seeds, 28 days, 4 businesses)")
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
            results, hits, cost, seconds = pickle.load(f)  # written by this module below
    if args.coverage_only:
        started = time.perf_counter()
        hits = coverage(cov_scale, args.processes)
        seconds += time.perf_counter() - started
        with args.traces.open("wb") as f:
            pickle.dump((results, hits, cost, seconds), f)
    elif not args.report_only:
        started = time.perf_counter()
        results = run_benchmark(scale, args.processes)
        hits = coverage(cov_scale, args.processes)
        cost = cost_section(suite_world("own-tastes", 1, 56), BanditParams())
        seconds = time.perf_counter() - started
        args.traces.parent.mkdir(parents=True, exist_ok=True)
        with args.traces.open("wb") as f:
            pickle.dump((results, hits, cost, seconds), f)
    command = "make bench-learning" + (" ARGS=--quick" if args.quick else "")
    text = report(scale, results, seconds, command, coverage_section(cov_scale, hits), cost)
    figure(results, args.figures or args.out.parent / "figures")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
