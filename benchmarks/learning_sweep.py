"""The tuning sweep behind the product's defaults (docs/decisions.md, items 1
and 48): the product's policy under several settings on the learning
benchmark's stationary audience; prints a Markdown table.

    OMP_NUM_THREADS=1 python -m benchmarks.learning_sweep [--seeds 1,2,3,4,5] [--days 168]
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import numpy as np

from benchmarks.learners import Product
from benchmarks.learning_runs import FINAL_SHARE, NORMALISER_DAYS, run
from benchmarks.learning_world import WorldConfig, build_world
from shared.action_space import ActionSpace
from shared.normaliser import fit_normaliser
from shared.policy import PolicyParams


@dataclass(frozen=True)
class Setting:
    label: str
    params: PolicyParams
    normaliser: dict[str, Any] | None  # fit_normaliser keyword arguments; None: raw x


def _p(alpha_h: float, alpha_theta: float, epsilon: float, tau: float = 1.0, beta: float = 0.1) -> PolicyParams:
    return PolicyParams(alpha_h=alpha_h, alpha_theta=alpha_theta, epsilon=epsilon, tau=tau, beta=beta)


NORMALISED = {"platform_weight": 0.0}
WITH_PLATFORM = {"platform_weight": 2.0}

SETTINGS = (
    Setting("SPEC rates, raw x", _p(0.05, 0.01, 0.05), None),
    Setting("old defaults, raw x", _p(1.0, 0.2, 0.05), None),
    Setting("α_H 2, α_θ 0.25, raw x", _p(2.0, 0.25, 0.05), None),
    Setting("old defaults, τ 0.5, raw x", _p(1.0, 0.2, 0.05, tau=0.5), None),
    Setting("old defaults, β 0.02, raw x", _p(1.0, 0.2, 0.05, beta=0.02), None),
    Setting("old defaults, ε 0.02, raw x", _p(1.0, 0.2, 0.02), None),
    Setting("α_H 2, α_θ 0.25, ε 0.02, raw x", _p(2.0, 0.25, 0.02), None),
    Setting("α_H 1, α_θ 0.25, whitened + bias", _p(1.0, 0.25, 0.05), NORMALISED),
    Setting("α_H 1, α_θ 0.25, whitened + bias + platform", _p(1.0, 0.25, 0.05), WITH_PLATFORM),
    Setting("α_H 1, α_θ 0.25, ε 0.02, whitened + bias + platform", _p(1.0, 0.25, 0.02), WITH_PLATFORM),
    Setting("α_H 2, α_θ 0.25, ε 0.02, whitened + bias + platform", _p(2.0, 0.25, 0.02), WITH_PLATFORM),
    Setting("α_H 2, α_θ 0.25, ε 0.02, platform weight 3", _p(2.0, 0.25, 0.02), {"platform_weight": 3.0}),
    Setting("α_H 2, α_θ 0.125, ε 0.02, whitened + bias + platform", _p(2.0, 0.125, 0.02), WITH_PLATFORM),
    Setting("α_H 2, α_θ 0.5, ε 0.02, whitened + bias + platform", _p(2.0, 0.5, 0.02), WITH_PLATFORM),
    Setting("α_H 2, α_θ 0.25, ε 0.02, rank 8", _p(2.0, 0.25, 0.02), {"rank": 8, "platform_weight": 2.0}),
    Setting("α_H 2, α_θ 0.25, ε 0.02, rank 32", _p(2.0, 0.25, 0.02), {"rank": 32, "platform_weight": 2.0}),
)


def _job(args: tuple[int, int]) -> list[float]:
    seed, days = args
    world = build_world(WorldConfig(seed=seed, days=days), ActionSpace.load())
    xs = np.array([p.x for p in world.posts if p.day < NORMALISER_DAYS])
    first = int(days * (1 - FINAL_SHARE))
    out = []
    for s in SETTINGS:
        normaliser = None if s.normaliser is None else fit_normaliser(xs, **s.normaliser)
        trace = run(world, Product(world.space, s.params, normaliser, s.label), seed)
        out.append(trace.gap_closed(first, days))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.learning_sweep", description=__doc__)
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated audience seeds")
    parser.add_argument("--days", type=int, default=168)
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    with get_context("fork").Pool(args.processes) as pool:
        results = np.array(pool.map(_job, [(s, args.days) for s in seeds], chunksize=1))
    print(f"Share of the gap closed over the final period, {len(seeds)} seeds × {args.days} days (median, min–max)\n")
    print("| setting | gap closed |\n|---|---|")
    for i, s in enumerate(SETTINGS):
        col = results[:, i]
        print(f"| {s.label} | {np.median(col):.1%} ({col.min():.1%}–{col.max():.1%}) |")


if __name__ == "__main__":
    main()
