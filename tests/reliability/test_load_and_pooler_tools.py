"""The load script and the pooler wrapper, at a scale that fits the fast suite
(`make test-reliability` runs the load for 60 s; `make test-pooler` the suites through pgbouncer).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from benchmarks.load import LlmStub
from shared.config import PROJECT_ROOT, Settings
from shared.store.migrate import migrate


def test_a_short_load_run_has_no_errors_and_stores_one_row_per_unique_request(runtime, tmp_path: Path):
    out = tmp_path / "load.json"
    cmd = [sys.executable, "-m", "benchmarks.load", "--duration", "3", "--snapshot-rate", "30"]
    cmd += ["--generate-rate", "3", "--llm-latency", "0.2", "--posts", "20", "--threads", "8", "--pool", "4"]
    cmd += ["--database-url", runtime.db.url, "--out", str(out)]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["failures"] == []
    rows = report["rows"]
    assert rows["snapshots_stored"] == rows["unique_snapshots"] < rows["snapshot_requests"]  # duplicates were sent
    assert rows["posts_stored"] == rows["posts_with_llm_content"] == rows["generate_requests"] == 9
    assert report["llm"]["calls"] == 2 * 9 and report["llm"]["samples"] == 18


def test_the_stub_sees_a_transaction_left_idle_across_an_llm_wait(runtime):
    """The control of the load check: a transaction idle during the wait is counted."""
    stub = LlmStub(latency=0.2, db_url=runtime.db.url)  # counts transactions idle for 0.12 s or more
    with (
        psycopg.connect(runtime.db.url, prepare_threshold=None) as idle,
        psycopg.connect(runtime.db.url, autocommit=True, prepare_threshold=None) as watcher,
    ):
        idle.execute("select 1 from posts limit 1")  # a transaction is open, and now waits
        time.sleep(0.2)
        stub.sample(watcher)
        idle.rollback()
        stub.sample(watcher)
    assert stub.samples == [1, 0]
    assert stub.longest_idle >= 0.1


def test_migrations_leave_no_session_lock_and_concurrent_runners_apply_each_file_once(runtime):
    """A session advisory lock taken through a transaction pooler may be released on another
    server connection and stay held; the runner takes one per transaction instead."""
    base = runtime.db.url
    name = f"learner_migrate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True, prepare_threshold=None) as conn:
        conn.execute(f'create database "{name}"')
    url = psycopg.conninfo.make_conninfo(base, dbname=name)
    try:
        barrier = threading.Barrier(3)

        def run(_: int) -> list[str]:
            barrier.wait()
            return migrate(url, Settings().migrations_dir)

        with ThreadPoolExecutor(max_workers=3) as pool:
            applied = list(pool.map(run, range(3)))
        files = sorted(p.stem for p in Settings().migrations_dir.glob("*.sql"))
        assert sorted(v for a in applied for v in a) == files  # each file applied once, by one of them
        with psycopg.connect(url, prepare_threshold=None) as conn:
            locks = conn.execute("select count(*) from pg_locks where locktype = 'advisory'").fetchone()
            versions = [r[0] for r in conn.execute("select version from app_migrations order by version")]
        assert locks == (0,)
        assert versions == files
    finally:
        with psycopg.connect(base, autocommit=True, prepare_threshold=None) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


MANY_CONNECTIONS = """
import os, psycopg
for _ in range(1500):  # each one logs two lines: well past a pipe's 64 KiB
    with psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=30, prepare_threshold=None) as conn:
        conn.execute("select 1")
"""


def test_the_pooler_keeps_serving_after_pgbouncer_has_logged_more_than_a_pipe_holds(runtime):
    """pgbouncer also logs to stderr; a pipe nobody read filled up and pgbouncer blocked on it."""
    cmd = [sys.executable, "-m", "devtools.pooler", "--upstream", runtime.db.url, "--"]
    done = subprocess.run(
        [*cmd, sys.executable, "-c", MANY_CONNECTIONS], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_pooler_wrapper_shows_why_pgbouncer_failed(runtime, tmp_path: Path):
    """A pgbouncer that exits at start: its own words reach the caller."""
    fake = tmp_path / "pgbouncer"
    fake.write_text("#!/bin/sh\necho 'FATAL cannot load config: a reason only pgbouncer knows' >&2\nexit 1\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    cmd = [sys.executable, "-m", "devtools.pooler", "--upstream", runtime.db.url, "--", "true"]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode != 0
    assert "a reason only pgbouncer knows" in done.stderr, done.stderr


def test_the_pooler_wrapper_shows_pgbouncers_log_when_the_command_fails(runtime):
    cmd = [sys.executable, "-m", "devtools.pooler", "--upstream", runtime.db.url, "--"]
    failing = "import os, psycopg, sys; psycopg.connect(os.environ['DATABASE_URL']).close(); sys.exit(3)"
    done = subprocess.run(
        [*cmd, sys.executable, "-c", failing], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3
    assert "login attempt" in done.stderr, done.stderr  # the tail of pgbouncer's log
