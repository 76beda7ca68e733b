"""What the variety cap costs (docs/variety.md; ``make bench-variety``).

The same campaign twice per seed, through the real functions and a fresh embedded database:
with every business's default cap (at most 3 alike in any 10 consecutive posts of a
platform) and with none. Both arms see the same audience, businesses, topics and hours.
Figures over the campaign's last two weeks: the audience's expected reward of what was
posted, the share of the gap between uniform random and the best action closed, and how
repetitive the feed was (the most posts alike in any 10 consecutive posts of a platform,
and the share of posts whose recipe one of the 9 before it on that platform already had).
The cap's defaults were set before any run; seeds 11–13 report (the learning worlds'
held-out seeds are others).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from shared.config import PROJECT_ROOT
from shared.core.variety import DEFAULT_MAX_REPEATS, DEFAULT_WINDOW, VarietyCap
from simulation.campaign import CampaignConfig, PostRecord, run_on_a_throwaway_database

SEEDS = (11, 12, 13)
OUT = PROJECT_ROOT / "docs" / "variety-figures.md"
WINDOW = 10


@dataclass(frozen=True)
class Arm:
    seed: int
    capped: bool
    earned: float
    gap_closed: float
    most_alike: int  # the most posts alike in any WINDOW consecutive posts of a platform
    repeated: float  # share of posts whose recipe one of the WINDOW − 1 before it already had
    seconds: float


def repetition(posts: list[PostRecord]) -> tuple[int, float]:
    feeds: dict[tuple[int, str], list[int]] = defaultdict(list)
    for p in sorted(posts, key=lambda p: (p.day, p.post_id)):
        feeds[(p.business, p.platform)].append(p.action)
    most, repeats, total = 0, 0, 0
    for feed in feeds.values():
        for i, action in enumerate(feed):
            window = feed[max(0, i - WINDOW + 1) : i + 1]
            most = max(most, Counter(window).most_common(1)[0][1])
            repeats += action in feed[max(0, i - WINDOW + 1) : i]
            total += 1
    return most, repeats / total


def arm(seed: int, capped: bool, days: int, businesses: int) -> Arm:
    variety = VarietyCap() if capped else VarietyCap(window=0)
    config = CampaignConfig(seed=seed, businesses=businesses, days=days, variety=variety)
    started = time.perf_counter()
    result, _ = run_on_a_throwaway_database(config, dashboard_every_hours=7 * 24.0)
    later = [p for p in result.posts if p.day >= days - 14]
    earned = float(np.mean([p.expected for p in later]))
    uniform, best = float(np.mean([p.uniform for p in later])), float(np.mean([p.best for p in later]))
    most, repeated = repetition(later)
    return Arm(
        seed, capped, earned, (earned - uniform) / (best - uniform), most, repeated, time.perf_counter() - started
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.variety", description=__doc__)
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--businesses", type=int, default=6)
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    seeds = tuple(int(s) for s in args.seeds.split(","))
    rows = []
    for seed in seeds:
        for capped in (False, True):
            a = arm(seed, capped, args.days, args.businesses)
            print(f"seed {seed} {'cap' if capped else 'none'}: E[r] {a.earned:.4f}, gap {a.gap_closed:.0%}, "
                  f"most alike {a.most_alike}/{WINDOW}, repeated {a.repeated:.0%} ({a.seconds:.0f} s)")  # fmt: skip
            rows.append(a)
    by = {(a.seed, a.capped): a for a in rows}
    lines = [
        "# The variety cap: measured in the simulator",
        "",
        f"Written by `make bench-variety` on {datetime.now(UTC):%Y-%m-%d} (benchmarks/variety.py): seeds "
        f"{', '.join(map(str, seeds))}, {args.businesses} businesses × 4 platforms × {args.days} days, one post a "
        f"day each, the default world; the cap at its defaults (at most {DEFAULT_MAX_REPEATS} alike in any "
        f"{DEFAULT_WINDOW} consecutive posts of a platform) against none. Figures over the last 14 days.",
        "",
        "| seed | E[r], no cap | E[r], cap | gap closed, no cap | gap closed, cap | most alike in 10, no cap "
        "| … cap | repeated within 10, no cap | … cap |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in seeds:
        free, cap = by[(s, False)], by[(s, True)]
        lines.append(
            f"| {s} | {free.earned:.4f} | {cap.earned:.4f} | {free.gap_closed:.0%} | {cap.gap_closed:.0%} "
            f"| {free.most_alike} | {cap.most_alike} | {free.repeated:.0%} | {cap.repeated:.0%} |"
        )
    cost = [by[(s, False)].earned - by[(s, True)].earned for s in seeds]
    gap = [by[(s, False)].gap_closed - by[(s, True)].gap_closed for s in seeds]
    lines += [
        "",
        f"The cap costs {float(np.mean(cost)):+.4f} expected reward per post on average "
        f"({float(np.mean(gap)):+.1%} of the gap between uniform and best).",
    ]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
