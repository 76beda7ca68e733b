"""The tuning sweep behind the product's defaults (docs/decisions.md, items 1
and 48): the product's policy under several settings on the learning
benchmark's stationary audience, as it is deployed (raw x until the sweep fits
the normaliser after ``fit_after`` decisions), beside the strongest baselines
on the same audiences; prints Markdown tables.

Tune on seeds the benchmark does not use (``make bench-learning`` reports
seeds 1–5), so the benchmark's figures are a held-out check of the choice:

    OMP_NUM_THREADS=1 python -m benchmarks.learning_sweep [--round b] [--seeds 101-120] [--days 168] [--baselines]
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from benchmarks.learners import EpsilonGreedyLinear, Features, Learner, Product, VowpalSquareCB
from benchmarks.learning_runs import FINAL_SHARE, NORMALISER_DAYS, run
from benchmarks.learning_world import World, WorldConfig, build_world
from shared.action_space import ActionSpace
from shared.config import PROJECT_ROOT
from shared.normaliser import fit_normaliser
from shared.policy import PolicyParams


@dataclass(frozen=True)
class Setting:
    label: str
    params: PolicyParams
    fit_after: int | None  # decisions on raw x before the normaliser is fitted; None: fitted from day 1
    without_theta: frozenset[str] = frozenset()  # dimensions scored by H alone


def _p(
    alpha_h: float = 2.0,
    alpha_theta: float = 0.25,
    epsilon: float = 0.02,
    tau: float = 1.0,
    half_life: float = 0.0,
    epsilon_min: float = 0.01,
) -> PolicyParams:
    return PolicyParams(
        alpha_h=alpha_h,
        alpha_theta=alpha_theta,
        epsilon=epsilon,
        tau=tau,
        epsilon_half_life=half_life,
        epsilon_min=epsilon_min,
    )


# Each round is a table of docs/decisions.md (items 1 and 48).
ROUND_A = (
    Setting("α_H 2, α_θ 0.25, ε 0.02, fit after 300 (defaults before this sweep)", _p(), 300),
    Setting("same, normaliser from day 1", _p(), None),
    Setting("fit after 100", _p(), 100),
    Setting("fit after 150", _p(), 150),
    Setting("α_θ 0.375, fit after 300", _p(alpha_theta=0.375), 300),
    Setting("α_θ 0.5, fit after 300", _p(alpha_theta=0.5), 300),
    Setting("α_θ 0.5, fit after 150", _p(alpha_theta=0.5), 150),
    Setting("α_H 2.5, fit after 300", _p(alpha_h=2.5), 300),
    Setting("α_H 1.5, α_θ 0.5, fit after 300", _p(alpha_h=1.5, alpha_theta=0.5), 300),
    Setting("ε 0.01, fit after 300", _p(epsilon=0.01), 300),
)
ROUND_B = (
    Setting("ε 0.01, fit after 300", _p(epsilon=0.01), 300),
    Setting("ε 0.005, fit after 300", _p(epsilon=0.005, epsilon_min=0.005), 300),
    Setting("ε 0.05 → 0.01, half-life 1,000 rewards", _p(epsilon=0.05, half_life=1000), 300),
    Setting("ε 0.05 → 0.01, half-life 3,000 rewards", _p(epsilon=0.05, half_life=3000), 300),
    Setting("ε 0.02 → 0.01, half-life 2,000 rewards", _p(epsilon=0.02, half_life=2000), 300),
    Setting("ε 0.01, α_θ 0.375", _p(epsilon=0.01, alpha_theta=0.375), 300),
    Setting("ε 0.01, α_H 2.5", _p(epsilon=0.01, alpha_h=2.5), 300),
    Setting("ε 0.01, τ 0.8", _p(epsilon=0.01, tau=0.8), 300),
    Setting("ε 0.01, fit after 100", _p(epsilon=0.01), 100),
)
# Does every dimension gain from θ·x'? The defaults, then each dimension without θ.
ROUND_C = (
    Setting("defaults (ε 0.01)", _p(epsilon=0.01), 300),
    *(Setting(f"no θ for {d.name}", _p(epsilon=0.01), 300, frozenset({d.name})) for d in ActionSpace.load().dimensions),
)
ROUNDS = {"a": ROUND_A, "b": ROUND_B, "c": ROUND_C}
# Per-seed results of the last run, for a closer look (gitignored).
RESULTS = PROJECT_ROOT / "out" / "learning_sweep_{round}.json"
BASELINES = ("VW cb_explore_adf squarecb", "ε-greedy linear (ε=0.05)")


def _baselines(world: World) -> list[Learner]:
    xs = np.array([p.x for p in world.posts if p.day < NORMALISER_DAYS])
    features = Features(fit_normaliser(xs))
    return [VowpalSquareCB(world.space, features), EpsilonGreedyLinear(world.space, features, epsilon=0.05)]


def _job(args: tuple[int, int, bool, str]) -> tuple[list[float], list[float], list[float]]:
    """Per setting the final-period mean reward and share of the gap closed; per baseline its mean reward."""
    seed, days, with_baselines, round_ = args
    world = build_world(WorldConfig(seed=seed, days=days), ActionSpace.load())
    xs = np.array([p.x for p in world.posts if p.day < NORMALISER_DAYS])
    first = int(days * (1 - FINAL_SHARE))
    rewards, gaps = [], []
    for s in ROUNDS[round_]:
        normaliser = fit_normaliser(xs) if s.fit_after is None else None
        learner = Product(
            world.space, s.params, normaliser, s.label, fit_after=s.fit_after, without_theta=s.without_theta
        )
        trace = run(world, learner, seed)
        rewards.append(trace.window(first, days)[0])
        gaps.append(trace.gap_closed(first, days))
    base = [run(world, b, seed).window(first, days)[0] for b in _baselines(world)] if with_baselines else []
    return rewards, gaps, base


def _paired(d: np.ndarray) -> str:
    """Seed-by-seed differences: "mean ± standard error | ahead on k of n |"."""
    se = float(d.std(ddof=1)) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    return f"{d.mean():+.4f} ± {se:.4f} | {int((d > 0).sum())} of {len(d)} |"


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.learning_sweep", description=__doc__)
    parser.add_argument("--seeds", default="101-120", help="audience seeds, e.g. 101-120 or 1,2,3")
    parser.add_argument("--days", type=int, default=168)
    parser.add_argument("--baselines", action="store_true", help="also run VW squarecb and ε-greedy linear")
    parser.add_argument("--round", choices=sorted(ROUNDS), default=max(ROUNDS), help="which table of settings")
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    seeds = _seeds(args.seeds)
    settings = ROUNDS[args.round]
    with get_context("fork").Pool(args.processes) as pool:
        results = pool.map(_job, [(s, args.days, args.baselines, args.round) for s in seeds], chunksize=1)
    out = Path(str(RESULTS).format(round=args.round))
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "seeds": seeds,
                "days": args.days,
                "round": args.round,
                "settings": [s.label for s in settings],
                "baselines": list(BASELINES) if args.baselines else [],
                "results": results,
            }
        )
    )
    rewards = np.array([r[0] for r in results])
    gaps = np.array([r[1] for r in results])
    print(f"Final period (last {FINAL_SHARE:.0%} of days), {len(seeds)} seeds × {args.days} days: median (min–max)\n")
    head = "| setting | mean reward | gap closed | − first row, paired | ahead on |"
    if args.baselines:
        base = np.array([r[2] for r in results])
        best = int(np.argmax(np.median(base, axis=0)))
        head += f" − {BASELINES[best]}, paired | ahead on |"
    print(head + "\n|---|---|---|---|---|" + ("---|---|" if args.baselines else ""))
    for i, s in enumerate(settings):
        r, g = rewards[:, i], gaps[:, i]
        spread = f"{np.median(g):.1%} ({g.min():.1%}–{g.max():.1%})"
        row = f"| {s.label} | {np.median(r):.4f} | {spread} | {_paired(r - rewards[:, 0])}"
        if args.baselines:
            row += f" {_paired(r - base[:, best])}"
        print(row)
    if args.baselines:
        for j, name in enumerate(BASELINES):
            print(f"| *{name}* | {np.median(base[:, j]):.4f} | | | | | |")


if __name__ == "__main__":
    main()
