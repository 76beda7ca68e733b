"""The main job: ``python -m simulation`` (``make demo``; also ``python -m cli run``)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from shared.bootstrap import build_runtime, use_runtime
from shared.clock import ManualClock
from shared.config import PROJECT_ROOT, Settings
from shared.services.dashboard import write_dashboards
from shared.store.migrate import SchemaMissing
from simulation.campaign import CampaignConfig, run_campaign
from simulation.local_functions import LocalFunctions
from simulation.report import day_times, final_period, plot, table, weekly

DESCRIPTION = (
    "Run a simulated campaign through the real functions and database, "
    "then print the learning table, write the learning curve and the dashboard."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=84, help="simulated days (default 84)")
    parser.add_argument("--businesses", type=int, default=12, help="simulated businesses (default 12)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the audience and schedule (default 7)")
    parser.add_argument(
        "--plot", type=Path, default=PROJECT_ROOT / "out" / "learning_curve.png", help="learning curve PNG"
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=PROJECT_ROOT / "out" / "report.html",
        help="dashboard of the run (default out/report.html), with a page per business beside it",
    )


def run(args: argparse.Namespace) -> None:
    config = CampaignConfig(seed=args.seed, businesses=args.businesses, days=args.days)
    # The campaign calls the functions in process, as their only caller: no auth to check.
    # Its sweep runs once a simulated day (every 15 minutes deployed), so the dashboard's
    # refresh (the off-policy evaluation) runs weekly, as deployed it runs every 24 sweeps.
    every_week = 7 * 24.0
    settings = Settings(auth_mode="disabled", dashboard_every_hours=every_week)
    with tempfile.TemporaryDirectory(prefix="learner-demo-") as tmp:
        if not settings.database_url:
            # A fresh embedded database per run, so every run starts from a blank policy;
            # it is thrown away afterwards, so commits need not wait for the disk.
            settings = Settings(
                auth_mode="disabled",
                dashboard_every_hours=every_week,
                embedded_pg_dir=Path(tmp) / "pg",
                db_options="-c synchronous_commit=off",
            )
        else:
            print("DATABASE_URL is set: the campaign writes into that database.")
        runtime = build_runtime(settings, clock=ManualClock(config.start))
        use_runtime(runtime)
        try:
            functions = LocalFunctions()
            started = time.perf_counter()
            day_started: list[float] = []  # when each simulated day's first event ran
            with tqdm(total=config.days, unit="day", desc="simulating") as bar:

                def advance(day: int) -> None:
                    day_started.append(time.perf_counter())
                    bar.update(min(day + 1, config.days) - bar.n)

                result = run_campaign(config, runtime, functions, on_day=advance)
            elapsed = time.perf_counter() - started
            ends = [*day_started[1:], time.perf_counter()]
            # The campaign's days only: after them the last rewards fall due (no posts).
            per_day = [end - start for start, end in zip(day_started, ends, strict=True)][: config.days]
            if args.report is not None:
                write_dashboards(runtime.db, runtime.space, runtime.params, runtime.clock.now(), args.report)
        finally:
            use_runtime(None)
            runtime.close()

    periods = weekly(result)
    final = final_period(result)
    print()
    print(table([*periods, final]))
    computed = sum(1 for r in result.posts if r.status == "computed")
    print(
        f"\n{len(result.posts)} posts, {computed} rewards computed, policy version {result.policy_version}, "
        f"{elapsed:.0f} s ({len(result.posts) / elapsed:.0f} posts/s)."
    )
    print(f"Over {final.label}, the learned policy closed {final.gap_closed:.0%} of the gap between uniform and best.")
    timing = day_times(per_day)
    if timing is not None:
        print(timing)
    plot(periods, args.plot, f"Learning curve (seed {config.seed}, {config.businesses} businesses)")
    print(f"Learning curve written to {args.plot}")
    if args.report is not None:
        print(f"Dashboard written to {args.report}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulation", description=DESCRIPTION)
    add_arguments(parser)
    try:
        run(parser.parse_args())
    except SchemaMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
