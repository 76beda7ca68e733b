"""``make try`` (devtools/quickstart.py) as a user runs it: the loop closes, each step's
answer printed, on a throwaway embedded database even when DATABASE_URL is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from shared.config import PROJECT_ROOT


def test_the_quickstart_closes_the_loop_and_leaves_the_configured_database_alone(database_url, runtime, tmp_path):
    configured = runtime.db
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(PROJECT_ROOT),
        "HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "EMBEDDER": "none",
    }
    done = subprocess.run(
        [sys.executable, "-m", "devtools.quickstart"], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answers = [json.loads(line[3:]) for line in done.stdout.splitlines() if line.startswith("-> ")]
    assert len(answers) == 7
    saved, draft, published, six, day, update, page = answers
    assert saved["created"] is True and draft["scheduled_by"] == "best_time"
    assert (published["kind"], six["reward"], day["reward"]) == ("published", "not_due", "computed")
    assert (update["reason"], update["version"]) == ("already_applied", 1)
    assert update["message"].startswith("already applied at version 1")
    (post,) = page["posts"]
    assert post["reward"]["status"] == "computed" and post["snapshots"] == 2
    assert "The loop closed" in done.stdout
    with configured.statement() as conn:  # nothing went into the configured database
        assert conn.execute("select count(*) from profiles").fetchone() == (0,)
