"""``make dev``: the POST functions on loopback, with the local task dispatcher.

Try the HTTP flow without a cloud account: each function gets its own port
(as each gets its own URL on Cloud Run), tasks are delivered over HTTP when
they fall due on the real clock, and auth is off (this is local only).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping

import functions_framework
import numpy as np
from werkzeug.serving import make_server

from shared.bootstrap import build_runtime, use_runtime
from shared.config import PROJECT_ROOT, Settings
from shared.core.profile import Profile
from shared.services.profiles import save_profiles
from shared.tasks.local import LocalTaskRunner
from simulation.local_functions import TARGETS

DEMO_BUSINESS = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _post(url: str, payload: Mapping[str, str]) -> int:
    req = urllib.request.Request(
        url, data=json.dumps(dict(payload)).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 503


def _stop(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # the same way out as Ctrl-C: the finally below stops the database


def main() -> None:
    # A terminal closed (SIGHUP) or a `kill` (SIGTERM) stops the server as Ctrl-C does; without
    # this the process ends at once and leaves its embedded Postgres running.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    parser = argparse.ArgumentParser(prog="python -m devtools.server", description=__doc__)
    parser.add_argument("--port", type=int, default=8081, help="first port; each function takes the next")
    args = parser.parse_args()

    runtime = build_runtime(Settings(auth_mode="disabled"))
    use_runtime(runtime)
    demo = Profile(
        business_id=DEMO_BUSINESS,
        name="Demo Bakery",
        business_types=("Food & Beverage", "Bakery"),
        industries=("Hospitality",),
        embedding=np.random.default_rng(1).normal(size=384),
        follower_counts={"instagram": 4200, "x": 900, "linkedin": 300, "facebook": 2500},
    )
    save_profiles(runtime.db, [demo])
    urls = {}
    for i, target in enumerate((*TARGETS, "report")):  # report: the dashboard, for a browser
        app = functions_framework.create_app(target=target, source=str(PROJECT_ROOT / "main.py"))  # type: ignore[no-untyped-call]
        server = make_server("127.0.0.1", args.port + i, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        urls[target] = f"http://127.0.0.1:{args.port + i}/"
        print(f"{target:16} {urls[target]}")
    print(f"\nThe dashboard: {urls['report']} (open it in a browser).")
    print(f"\nA demo business: {DEMO_BUSINESS}. Try:\n")
    print(
        f"curl -s {urls['generate_post']} -H 'Content-Type: application/json' -d "
        f'\'{{"business_id": "{DEMO_BUSINESS}", "request_id": "try-1", "platform": "instagram", '
        f'"topic": "sourdough workshop", "auto_publish": true}}\'\n'
    )
    runner = LocalTaskRunner(runtime.db, lambda target, payload: _post(urls[target], payload))
    try:
        while True:  # the local dispatcher: deliver what is due, once a second
            runner.run_due(runtime.clock.now())
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
