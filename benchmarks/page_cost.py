"""One process's cost of the dashboard or of the off-policy evaluation, measured in that
process: ``python -m benchmarks.page_cost --what page|owner|evaluate`` prints JSON with
the wall time of each repeat and the process's peak RSS (the first repeat included).

The peak is VmHWM of /proc/self/status, the high-water mark of this process's own memory:
``getrusage``'s ru_maxrss keeps the parent's peak across exec on Linux, so a small child of
a large parent would read the parent's figure.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import datetime
from pathlib import Path

from shared.bootstrap import build_runtime
from shared.clock import ManualClock
from shared.config import Settings
from shared.services.dashboard import dashboard_html
from shared.services.evaluation import evaluate_logged


def peak_rss_mb() -> float:
    """This process's peak resident memory, MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.page_cost", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--what", choices=("page", "owner", "evaluate"), required=True)
    parser.add_argument("--owner", type=uuid.UUID, help="the owner's user id (--what owner)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--now", default="2026-06-01T12:00:00+00:00")
    args = parser.parse_args()
    settings = Settings(database_url=args.database_url, auto_migrate=False, auth_mode="disabled", embedder="none")
    now = datetime.fromisoformat(args.now)
    runtime = build_runtime(settings, clock=ManualClock(now))
    times: list[float] = []
    size = 0
    try:
        for _ in range(args.repeats):
            started = time.perf_counter()
            if args.what == "evaluate":
                size = evaluate_logged(runtime.db, runtime.space).n
            else:
                owner = args.owner if args.what == "owner" else None
                size = len(dashboard_html(runtime.db, runtime.space, runtime.params, now, owner=owner))
            times.append(time.perf_counter() - started)
    finally:
        runtime.close()
    print(json.dumps({"times": times, "peak_rss_mb": peak_rss_mb(), "size": size}))


if __name__ == "__main__":
    main()
