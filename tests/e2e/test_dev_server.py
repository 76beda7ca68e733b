"""`make dev` stops its embedded Postgres however it is stopped: Ctrl-C, `kill`, a closed terminal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from shared.config import PROJECT_ROOT
from simulation.local_functions import TARGETS


def _free_port_block(n: int) -> int:
    """A first port with the next ``n`` free on loopback."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            first = int(s.getsockname()[1])
        if first + n < 65535 and all(_free(first + i) for i in range(n)):
            return first
    raise RuntimeError("no block of free ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _postgres_of(data_dir: Path) -> list[int]:
    """Pids of the postgres processes serving ``data_dir`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        if cmd and cmd[0].endswith(b"postgres") and str(data_dir).encode() in cmd:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "kill", "hangup"])
def test_stopping_the_dev_server_stops_its_database(tmp_path: Path, stop: signal.Signals) -> None:
    data_dir = tmp_path / "pg"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "EMBEDDED_PG_DIR": str(data_dir), "EMBEDDER": "none"}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        # A port per function and one for the dashboard.
        [sys.executable, "-m", "devtools.server", "--port", str(_free_port_block(len(TARGETS) + 1))],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        deadline, dashboard = time.monotonic() + 120, None
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if line.startswith("The dashboard: "):
                dashboard = line.split()[2]
            if "A demo business" in line or not line:
                break
        assert _postgres_of(data_dir), "the dev server did not start its database"
        # make dev serves the dashboard too (before: only the POST functions).
        assert dashboard is not None
        with urllib.request.urlopen(dashboard, timeout=60) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        server.send_signal(stop)
        assert server.wait(timeout=60) is not None
        deadline = time.monotonic() + 30
        while _postgres_of(data_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _postgres_of(data_dir) == []
    finally:
        if server.poll() is None:
            server.kill()
        for pid in _postgres_of(data_dir):
            os.kill(pid, signal.SIGKILL)
