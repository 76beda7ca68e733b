"""The load script and the pooler wrapper, at a scale that fits the fast suite
(`make test-reliability` runs the load for 60 s; `make test-pooler` the suites through pgbouncer).
"""

from __future__ import annotations

import json
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
