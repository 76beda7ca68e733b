"""The tuning sweep behind the learners' defaults (docs/learning.md, "Protocol";
docs/decisions.md, item 1): settings of the learners on the suite's **tuning**
worlds and seeds only (``benchmarks/worlds.py``: ``tuning=True`` worlds, seeds
``TUNING_SEEDS``), beside the baselines on the same audiences; prints Markdown
tables. ``make bench-learning`` reports the held-out worlds and seeds, which no
round here touches, so its figures are a check of the choice, not a fit.

    OMP_NUM_THREADS=1 python -m benchmarks.learning_sweep --round bandit [--worlds additive,interacting] [--baselines]
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np

from benchmarks.learners import Bandit, Learner, Product, baselines
from benchmarks.learning_runs import FINAL_SHARE, recovery_days, run
from benchmarks.learning_world import World
from benchmarks.suite import EARLY_DAYS, SUITE_DAYS, suite_world
from benchmarks.worlds import SUITE, TUNING_SEEDS
from shared.config import PROJECT_ROOT
from shared.core.bandit import BanditParams
from shared.core.policy import PolicyParams


@dataclass(frozen=True)
class Setting:
    label: str
    make: Callable[[World], Learner]


def _bandit(label: str, **kw: float | bool) -> Setting:
    return Setting(label, lambda w: Bandit(w.space, BanditParams(**kw), label))  # type: ignore[arg-type]


def _gradient(label: str, **kw: float) -> Setting:
    return Setting(label, lambda w: Product(w.space, PolicyParams(**kw), None, label, fit_after=300))  # type: ignore[arg-type]


# Ridges: bias and platform / platform × time bucket / whitened x / pairs / business.
_R1 = {
    "gamma_scale": 300.0,
    "forget": 0.999,
    "cell_ridge": 10.0,
    "context_ridge": 10.0,
    "pair_ridge": 16.0,
    "business_ridge": 16.0,
}
_R3 = {**_R1, "ridge": 3.0, "cell_ridge": 30.0, "context_ridge": 30.0, "pair_ridge": 32.0, "business_ridge": 32.0}

# Each round is a table of docs/decisions.md, item 1.
ROUNDS: dict[str, tuple[Setting, ...]] = {
    "bandit": (
        _bandit("γ₀ 300, ridges 1/10/10/16/16, forget 0.999", **_R1),
        _bandit("γ₀ 300, ridges 3/30/30/32/32, forget 0.999", **_R3),
        _bandit("γ₀ 300, ridges 3/30/30/32/32, forget 0.9995", **{**_R3, "forget": 0.9995}),
        _bandit("γ₀ 300, ridges 3/30/30/32/32, forget 0.998", **{**_R3, "forget": 0.998}),
        _bandit("γ₀ 1000, ridges 3/30/30/32/32, forget 0.999", **{**_R3, "gamma_scale": 1000.0}),
    ),
    "forget": (
        _bandit("defaults (forget 0.999)"),
        _bandit("forget 0.998", forget=0.998),
        _bandit("forget 0.997", forget=0.997),
        _bandit("forget 0.995", forget=0.995),
    ),
    "shift": (
        _bandit("defaults (no change detection, γ by steps)"),
        _bandit("γ by evidence", gamma_by_evidence=True),
        _bandit("γ by evidence, shift at 6 s.e., keep 0.1", gamma_by_evidence=True, shift_threshold=6.0),
        _bandit("γ by evidence, shift at 8 s.e., keep 0.1", gamma_by_evidence=True, shift_threshold=8.0),
        _bandit(
            "γ by evidence, shift at 6 s.e., keep 0.3", gamma_by_evidence=True, shift_threshold=6.0, shift_keep=0.3
        ),
        _bandit("γ by steps, shift at 6 s.e., keep 0.1", shift_threshold=6.0),
    ),
    # After the change detector: how fast it fires (threshold) and how much it keeps.
    "drift": (
        _bandit("defaults (shift at 6 s.e., keep 0.1)"),
        _bandit("shift at 6 s.e., keep 0.02", shift_keep=0.02),
        _bandit("shift at 4 s.e., keep 0.1", shift_threshold=4.0),
        _bandit("shift at 4 s.e., keep 0.02", shift_threshold=4.0, shift_keep=0.02),
        _bandit(
            "shift at 4 s.e., keep 0.02, γ by evidence", shift_threshold=4.0, shift_keep=0.02, gamma_by_evidence=True
        ),
    ),
    # A shared intercept per platform, so that an untried value is predicted average, not 0.
    "intercept": (
        # γ₀ 1000, the default when this round ran (the intercept rounds made it 4000).
        _bandit("no shared intercept", intercept=False, gamma_scale=1000.0),
        _bandit("intercept, its ridge 0.01", intercept=True, gamma_scale=1000.0),
        _bandit("intercept, its ridge 1", intercept=True, intercept_ridge=1.0, gamma_scale=1000.0),
        _bandit("intercept, its ridge 0.01, value bias ridge 10", intercept=True, ridge=10.0, gamma_scale=1000.0),
    ),
    "intercept-b": (
        _bandit("no shared intercept, γ₀ 1000", intercept=False, gamma_scale=1000.0),
        _bandit("γ₀ 2000", intercept=False, gamma_scale=2000.0),
        _bandit("intercept (ridge 0.01), γ₀ 2000", intercept=True, gamma_scale=2000.0),
        _bandit("intercept (ridge 0.01), γ₀ 4000: the default now", intercept=True, gamma_scale=4000.0),
    ),
    "bandit-a": (
        _bandit("γ₀ 20 (first guess)"),
        _bandit("γ₀ 100", gamma_scale=100.0),
        _bandit("γ₀ 300", gamma_scale=300.0),
        _bandit("γ₀ 1000", gamma_scale=1000.0),
        _bandit("γ₀ 100, no pairs", gamma_scale=100.0, pairs=False),
        _bandit("γ₀ 100, no per-business", gamma_scale=100.0, per_business=False),
    ),
    "gradient": (
        _gradient("α_H 2, α_θ 0.25, ε 0.01 (defaults before the suite)"),
        _gradient("α_H 1, α_θ 0.1", alpha_h=1.0, alpha_theta=0.1),
        _gradient("α_H 0.5, α_θ 0.1", alpha_h=0.5, alpha_theta=0.1),
        _gradient("α_H 1, α_θ 0.25, ε 0.02", alpha_h=1.0, alpha_theta=0.25, epsilon=0.02),
        _gradient("α_H 2, α_θ 0.25, ε 0.03", epsilon=0.03),
    ),
}
RESULTS = PROJECT_ROOT / "out" / "learning_sweep_{round}.json"


def _job(args: tuple[str, int, int, bool, str]) -> dict[str, list[float]]:
    """Per setting (then per baseline): final-period mean reward, gap closed at the end and in the first weeks."""
    world_name, seed, days, with_baselines, round_ = args
    world = suite_world(world_name, seed, days)
    first = int(days * (1 - FINAL_SHARE))
    makers = [(s.label, s.make) for s in ROUNDS[round_]]
    if with_baselines:
        makers += [(f"*{name}*", make) for name, make in baselines(world)]
    out = {}
    for label, make in makers:
        trace = run(world, make(world), seed)
        recovery = recovery_days(trace) if trace.drift_day is not None else float("nan")
        out[label] = [
            trace.window(first, days)[0],
            trace.gap_closed(first, days),
            trace.gap_closed(0, EARLY_DAYS),
            recovery,
        ]
    return out


def _paired(d: np.ndarray) -> str:
    """Differences per (world, seed): "mean ± standard error | ahead on k of n"."""
    se = float(d.std(ddof=1)) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    return f"{d.mean():+.4f} ± {se:.4f} | {int((d > 0).sum())} of {len(d)}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.learning_sweep", description=__doc__)
    parser.add_argument("--round", choices=sorted(ROUNDS), default="bandit", help="which table of settings")
    parser.add_argument("--worlds", default=",".join(w.name for w in SUITE if w.tuning), help="tuning worlds")
    parser.add_argument("--days", type=int, default=SUITE_DAYS)
    parser.add_argument("--baselines", action="store_true", help="also run the baselines")
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    worlds = args.worlds.split(",")
    held_out = [w.name for w in SUITE if not w.tuning and w.name in worlds]
    if held_out:
        parser.error(f"{', '.join(held_out)}: held-out worlds are never tuned on")
    jobs = [(w, s, args.days, args.baselines, args.round) for w in worlds for s in TUNING_SEEDS]
    with get_context("fork").Pool(args.processes) as pool:
        results = pool.map(_job, jobs, chunksize=1)
    out = RESULTS.with_name(RESULTS.name.format(round=args.round))
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"jobs": [j[:3] for j in jobs], "results": results}))
    labels = list(results[0])
    table = {label: np.array([r[label] for r in results]) for label in labels}
    ref = table[labels[0]]
    print(
        f"Tuning worlds {', '.join(worlds)} × seeds {TUNING_SEEDS}, {args.days} days; mean over the {len(jobs)} runs\n"
    )
    print(
        "| setting | final mean reward | gap closed, end | gap closed, first 4 weeks "
        "| gap closed − first row, paired | ahead on | days to recover (drift worlds, median) |"
    )
    print("|---|---|---|---|---|---|---|")
    for label in labels:
        t = table[label]
        drift = t[~np.isnan(t[:, 3]), 3]
        recover = f"{np.median(drift):.0f} ({', '.join(f'{v:.0f}' for v in drift)})" if drift.size else ""
        print(
            f"| {label} | {t[:, 0].mean():.4f} | {t[:, 1].mean():.1%} | {t[:, 2].mean():.1%} "
            f"| {_paired(t[:, 1] - ref[:, 1])} | {recover} |"
        )
    print()
    for w in worlds:
        idx = [i for i, j in enumerate(jobs) if j[0] == w]
        cells = " · ".join(f"{label.strip('*')[:24]} {table[label][idx, 1].mean():.0%}" for label in labels)
        print(f"- {w}: {cells}")


if __name__ == "__main__":
    main()
