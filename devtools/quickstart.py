"""``make try``: the whole loop in under a minute, on a local clock.

Each step is an HTTP call to the functions (served in process by functions-framework, auth
off) on a fresh embedded database, printed with its answer: save a profile, generate a
draft, publish it, report its metrics at 6 h and 24 h, and watch the reward settle and the
policy learn. The clock is a manual one, moved forward between the steps, and the local
task runner delivers the reward and update tasks when they fall due, as Cloud Tasks would.
The same bodies work against deployed functions (README, "Quickstart").
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.bootstrap import build_runtime, use_runtime
from shared.clock import ManualClock
from shared.config import Settings
from shared.tasks.local import LocalTaskRunner
from simulation.local_functions import LocalFunctions

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def _show(title: str, target: str, body: dict[str, Any], answer: Any, keys: tuple[str, ...]) -> None:
    print(f"\n== {title}\nPOST {target} {json.dumps(body)}")
    shown = {k: answer[k] for k in keys if k in answer} if isinstance(answer, dict) else answer
    print(f"-> {json.dumps(shown, default=str)}")


def run() -> dict[str, Any]:
    """The loop; what it saw (for the test)."""
    seen: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="learner-try-") as tmp:
        # Always a throwaway embedded database, whatever DATABASE_URL says: this writes posts.
        settings = Settings(
            database_url=None,
            auth_mode="disabled",
            embedded_pg_dir=Path(tmp) / "pg",
            db_options="-c synchronous_commit=off",
        )
        clock = ManualClock(START)
        runtime = build_runtime(settings, clock=clock)
        use_runtime(runtime)
        try:
            functions = LocalFunctions()
            runner = LocalTaskRunner(runtime.db, functions.invoke)

            def call(title: str, target: str, body: dict[str, Any], keys: tuple[str, ...]) -> Any:
                status, answer = functions.post(target, body)
                if not 200 <= status < 300:
                    raise SystemExit(f"{target} answered {status}: {answer}")
                _show(title, target, body, answer, keys)
                return answer

            def later(hours: float) -> None:
                clock.set(clock.now() + timedelta(hours=hours))
                delivered = runner.run_due(clock.now())
                print(
                    f"\n   (the clock moves {hours:g} h to {clock.now():%a %H:%M} UTC; {delivered} task(s) delivered)"
                )

            profile = {
                "name": "Northwind Bakery",
                "business_types": ["Food & Beverage", "Bakery"],
                "description": "Sourdough and pastries, baked at dawn.",
                "time_zone": "Europe/Berlin",
                "follower_counts": {"instagram": 4200, "x": 900, "linkedin": 300, "facebook": 2500},
            }
            saved = call("1. Save a business profile", "save_profile", profile, ("business_id", "created", "message"))
            business = saved["business_id"]
            draft = call(
                "2. Generate a draft (no scheduled_for: the business's best time)",
                "generate_post",
                {"business_id": business, "request_id": "try-1", "platform": "instagram", "topic": "spring menu"},
                ("post_id", "action", "joint_propensity", "scheduled_for", "scheduled_by", "caption"),
            )
            post = draft["post_id"]
            when = datetime.fromisoformat(draft["scheduled_for"])
            clock.set(when)
            print(f"\n   (the clock moves to the scheduled time, {when:%a %H:%M %Z})")
            call(
                "3. It was published",
                "record_snapshot",
                {"type": "published", "post_id": post, "media_id": "ig-123", "posted_at": when.isoformat()},
                ("kind", "changed", "reward"),
            )
            later(6)
            call(
                "4. Metrics after 6 hours",
                "record_snapshot",
                {
                    "type": "metrics",
                    "post_id": post,
                    "observed_at": clock.now().isoformat(),
                    "likes": 80,
                    "comments": 6,
                },
                ("kind", "changed", "reward"),
            )
            later(18)
            metrics = call(
                "5. Metrics after 24 hours: the reward settles",
                "record_snapshot",
                {"type": "metrics", "post_id": post, "observed_at": clock.now().isoformat(), "likes": 190,
                 "comments": 14, "shares": 5, "follower_count": 4210},
                ("kind", "changed", "reward"),
            )  # fmt: skip
            seen["reward"] = metrics["reward"]
            later(0.01)  # the update task, dispatched when the reward settled
            update = call(
                "6. The policy learned from it (the task already ran: this call is a redelivery)",
                "update_policy",
                {"post_id": post},
                ("applied", "version", "reason", "message"),
            )
            seen["update"] = update
            page = call(
                "7. Read the business back",
                "read_business",
                {"business_id": business, "view": "posts", "limit": 1},
                ("posts",),
            )
            seen["posts"] = page["posts"]
        finally:
            use_runtime(None)
            runtime.close()
    print("\nThe loop closed: generated, published, measured, rewarded, learned.")
    return seen


def main() -> None:
    argparse.ArgumentParser(prog="python -m devtools.quickstart", description=__doc__).parse_args()
    run()


if __name__ == "__main__":
    main()
