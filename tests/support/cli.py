"""The command line as a user runs it: ``python -m cli`` in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.config import PROJECT_ROOT


def run_cli(
    database_url: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(PROJECT_ROOT),
        "HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "IMAGE_DIR": str(tmp_path / "images"),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
