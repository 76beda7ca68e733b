"""Load on loopback: record_snapshot and generate_post served by the functions-framework CLI.

    python -m benchmarks.load [--duration 60 --snapshot-rate 200 --generate-rate 20 --duplicates 0.3]

record_snapshot gets metrics events at a fixed rate (open loop: each request is
sent at its scheduled time, whatever the answers before it), a share of them
exact duplicates of earlier ones; generate_post gets new posts at its own rate,
with an xAI key pointed at a stub on loopback that answers after a fixed
latency. During every stubbed LLM call the stub looks at pg_stat_activity: a
transaction left open across the call shows as 'idle in transaction' for about
as long as the call has lasted. Pass criteria (exit 1 otherwise): no errors,
rows = unique requests, no transaction idle during an LLM wait. The per-business rate
limits are off (the load is one business's). Latencies are
reported, not judged. All traffic stays on 127.0.0.1; the run is bounded in
time. Figures go to out/reliability/load.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from shared.bootstrap import build_runtime
from shared.config import PROJECT_ROOT, Settings
from shared.core.profile import Profile
from shared.services.generation import GenerateCommand, create_post
from shared.services.profiles import save_profiles
from shared.store.embedded import start_embedded
from shared.store.migrate import migrate

REPORT = PROJECT_ROOT / "out" / "reliability" / "load.json"
PROMPTS = {"caption_prompt": "Write a short caption about the topic.", "image_prompt": "A calm photo, {{CAPTION}}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """The given database; else a fresh one on DATABASE_URL's server (dropped after); else an embedded one."""
    if url:
        yield url
        return
    base = os.environ.get("DATABASE_URL")
    if base:
        name = f"learner_load_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(base, autocommit=True, prepare_threshold=None) as conn:
            conn.execute(f'create database "{name}"')
        fresh = psycopg.conninfo.make_conninfo(base, dbname=name)
        try:
            migrate(fresh, Settings().migrations_dir)
            yield fresh
        finally:
            with psycopg.connect(base, autocommit=True, prepare_threshold=None) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
        return
    with tempfile.TemporaryDirectory(prefix="learner-load-") as tmp:
        server = start_embedded(Path(tmp) / "pg")
        try:
            migrate(server.url, Settings().migrations_dir)
            yield server.url
        finally:
            server.stop()


@dataclass
class LlmStub:
    """xAI's chat completions on loopback, answering after ``latency`` seconds and sampling the database mid-wait."""

    latency: float
    db_url: str
    calls: int = 0
    samples: list[int] = field(default_factory=list)  # long 'idle in transaction' backends seen per sample
    longest_idle: float = 0.0  # the longest 'idle in transaction' seen, seconds
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sample(self, conn: psycopg.Connection[Any]) -> None:
        # Sampled 3/4 into the call: a transaction held across it has been idle at least that long.
        threshold = self.latency * 0.6
        row = conn.execute(
            "select count(*) filter (where extract(epoch from now() - state_change) >= %s),"
            " coalesce(max(extract(epoch from now() - state_change)), 0)"
            " from pg_stat_activity where datname = current_database() and state like 'idle in transaction%%'",
            (threshold,),
        ).fetchone()
        assert row is not None
        with self.lock:
            self.samples.append(int(row[0]))
            self.longest_idle = max(self.longest_idle, float(row[1]))

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        stub = self
        local = threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                with stub.lock:
                    stub.calls += 1
                time.sleep(stub.latency * 0.75)
                if not hasattr(local, "conn"):
                    local.conn = psycopg.connect(stub.db_url, autocommit=True, prepare_threshold=None)
                stub.sample(local.conn)
                time.sleep(stub.latency * 0.25)
                wants_json = body.get("response_format") == {"type": "json_object"}
                content = json.dumps(PROMPTS) if wants_json else "A caption from the stub."
                answer = {
                    "id": "chatcmpl-load",
                    "object": "chat.completion",
                    "model": body.get("model", "grok-4"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ],
                }
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def serve_function(target: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The functions-framework CLI (gunicorn, one worker, THREADS threads), as on Cloud Run."""
    exe = str(Path(sys.executable).parent / "functions-framework")
    cmd = [
        exe,
        "--target",
        target,
        "--source",
        str(PROJECT_ROOT / "main.py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{target} did not start on port {port}")


def seed(url: str, posts: int, now: datetime) -> tuple[str, list[tuple[str, datetime]]]:
    """A business and ``posts`` published posts; a fifth were published 25 h ago (a 24 h snapshot settles them)."""
    settings = Settings(database_url=url, auth_mode="disabled", embedder="none", auto_migrate=False)
    runtime = build_runtime(settings)
    business = uuid.uuid4()
    profile = Profile(
        business_id=business,
        name="Load Test Bakery",
        embedding=np.random.default_rng(1).normal(size=384),
        follower_counts={"instagram": 4000, "x": 900, "linkedin": 300, "facebook": 2500},
    )
    save_profiles(runtime.db, [profile])
    out = []
    for i in range(posts):
        posted = now - timedelta(hours=25 if i % 5 == 0 else 2, seconds=i)
        cmd = GenerateCommand(
            business_id=business,
            request_id=f"seed-{i}",
            platform=("instagram", "x", "linkedin", "facebook")[i % 4],
            topic="seed",
            topic_embedding=np.random.default_rng(i).normal(size=384),
            scheduled_for=posted,
            auto_publish=True,
        )
        made = create_post(
            runtime.db,
            cmd,
            space=runtime.space,
            params=runtime.params,
            reward_config=runtime.reward_config,
            embedder=None,
            now=posted,  # generated when it was published: a post may not be published before it exists
        )
        out.append((str(made.post_id), posted))
    runtime.close()
    return str(business), out


@dataclass
class Result:
    stream: str
    scheduled: float
    started: float
    ended: float
    status: int  # 0: no answer


class Client:
    """One keep-alive HTTP connection per thread and port."""

    def __init__(self) -> None:
        self.local = threading.local()

    def post(self, port: int, body: bytes) -> int:
        conns = self.local.__dict__.setdefault("conns", {})
        for attempt in range(2):
            conn = conns.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conns[port] = conn
            try:
                conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                return resp.status
            except (http.client.HTTPException, OSError):
                conn.close()
                conns.pop(port, None)
                if attempt == 1:
                    return 0
        return 0


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with database(args.database_url) as url:
        now = datetime.now(UTC)
        business, posts = seed(url, args.posts, now)
        with psycopg.connect(url, prepare_threshold=None) as conn:
            before = conn.execute("select (select count(*) from snapshots), (select count(*) from posts)").fetchone()
        assert before is not None
        stub = LlmStub(args.llm_latency, url)
        stub_server, stub_url = stub.serve()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "AUTH_MODE": "disabled",
            "AUTO_MIGRATE": "false",
            "EMBEDDER": "none",
            "PYTHONPATH": str(PROJECT_ROOT),
            "THREADS": str(args.threads),
            "DB_POOL_MAX": str(args.pool),
            # All the load is one business's: at these rates its hourly limits (shared/core/rate_limits.py)
            # would answer 429 within seconds. The load measures throughput, so they are off.
            "RATE_POSTS_PER_HOUR": "0",
            "RATE_SNAPSHOTS_PER_HOUR": "0",
        }
        for name in ("LEARNER_FAULT_POINT", "GEMINI_API_KEY", "SUPABASE_URL"):
            env.pop(name, None)
        ports = {"record_snapshot": _free_port(), "generate_post": _free_port()}
        procs = [serve_function("record_snapshot", ports["record_snapshot"], env)]
        llm_env = {**env, "XAI_API_KEY": "xai-load-stub", "XAI_BASE_URL": stub_url, "LLM_MAX_ATTEMPTS": "1"}
        procs.append(serve_function("generate_post", ports["generate_post"], llm_env))
        try:
            plan: list[tuple[float, str, bytes]] = []
            sent: list[bytes] = []
            seen: set[tuple[str, datetime]] = set()
            for i in range(int(args.duration * args.snapshot_rate)):
                if sent and rng.random() < args.duplicates:
                    body = rng.choice(sent)
                else:
                    while True:
                        post, posted = rng.choice(posts)
                        offset = timedelta(
                            hours=rng.choice([6, 6.5, 24, 24.2, 0.5, 1]), microseconds=rng.randrange(10**6)
                        )
                        observed = min(posted + offset, now)
                        if (post, observed) not in seen:
                            seen.add((post, observed))
                            break
                    event: dict[str, Any] = {"type": "metrics", "post_id": post, "observed_at": observed.isoformat()}
                    # Cumulative counters: every snapshot of a post reports the same growth.
                    minutes = int((observed - posted).total_seconds() // 60)
                    event.update(likes=3 * minutes, comments=minutes // 10, shares=minutes // 30)
                    event.update(follower_count=4000)
                    body = json.dumps(event).encode()
                    sent.append(body)
                plan.append((i / args.snapshot_rate, "record_snapshot", body))
            generated = int(args.duration * args.generate_rate)
            for i in range(generated):
                request: dict[str, Any] = {"business_id": business, "request_id": f"load-{i}", "platform": "linkedin"}
                request["topic"] = "load"
                request["topic_embedding"] = [round(rng.uniform(-1, 1), 6) for _ in range(384)]
                plan.append((i / args.generate_rate, "generate_post", json.dumps(request).encode()))
            plan.sort(key=lambda p: p[0])

            client = Client()
            results: list[Result] = []
            lock = threading.Lock()
            start = time.monotonic() + 0.5

            def fire(at: float, stream: str, body: bytes) -> None:
                delay = start + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                begun = time.monotonic()
                status = client.post(ports[stream], body)
                with lock:
                    results.append(Result(stream, start + at, begun, time.monotonic(), status))

            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                for at, stream, body in plan:
                    # Submit just ahead of time, so the queue holds what is due soon.
                    while start + at - time.monotonic() > 0.2:
                        time.sleep(0.05)
                    pool.submit(fire, at, stream, body)
            wall = time.monotonic() - start
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
            stub_server.shutdown()
        with psycopg.connect(url, prepare_threshold=None) as conn:
            after = conn.execute(
                "select (select count(*) from snapshots), (select count(*) from posts),"
                " (select count(*) from posts where request_id like 'load-%%' and content_status = 'done'),"
                " (select count(*) from posts where request_id like 'load-%%' and content_source = 'xai')"
            ).fetchone()
        assert after is not None

    report: dict[str, Any] = {
        "duration_s": args.duration,
        "wall_s": round(wall, 1),
        "llm_latency_s": args.llm_latency,
        "threads_per_function": args.threads,
        "db_pool_per_function": args.pool,
        "streams": {},
    }
    for stream, rate in (("record_snapshot", args.snapshot_rate), ("generate_post", args.generate_rate)):
        mine = [r for r in results if r.stream == stream]
        ok = [r for r in mine if 200 <= r.status < 300]
        latency = [(r.ended - r.scheduled) * 1000 for r in mine]
        service = [(r.ended - r.started) * 1000 for r in mine]
        report["streams"][stream] = {
            "target_rate": rate,
            "requests": len(mine),
            "achieved_rate": round(len(mine) / max(wall, 1e-9), 1),
            "errors": len(mine) - len(ok),
            "statuses": {str(s): sum(1 for r in mine if r.status == s) for s in sorted({r.status for r in mine})},
            "p50_ms": round(percentile(latency, 50), 1),
            "p90_ms": round(percentile(latency, 90), 1),
            "p99_ms": round(percentile(latency, 99), 1),
            "max_ms": round(max(latency, default=0.0), 1),
            "p99_service_ms": round(percentile(service, 99), 1),
        }
    unique_snapshots = len(sent)
    report["rows"] = {
        "snapshot_requests": int(args.duration * args.snapshot_rate),
        "unique_snapshots": unique_snapshots,
        "snapshots_stored": int(after[0] - before[0]),
        "generate_requests": generated,
        "posts_stored": int(after[1] - before[1]),
        "posts_with_llm_content": int(after[3]),
        "posts_content_done": int(after[2]),
    }
    report["llm"] = {
        "calls": stub.calls,
        "samples": len(stub.samples),
        "samples_with_a_long_idle_transaction": sum(1 for s in stub.samples if s),
        "longest_idle_in_transaction_s": round(stub.longest_idle, 3),
    }
    rows = report["rows"]
    failures = [
        f"{name}: {s['errors']} errors" for name, s in report["streams"].items() if s["errors"] or s["requests"] == 0
    ]
    if rows["snapshots_stored"] != unique_snapshots:
        failures.append(f"{rows['snapshots_stored']} snapshots stored for {unique_snapshots} unique requests")
    if not rows["posts_stored"] == rows["posts_content_done"] == rows["posts_with_llm_content"] == generated:
        failures.append(
            f"posts {rows['posts_stored']}, with content {rows['posts_content_done']}, for {generated} requests"
        )
    if report["llm"]["samples_with_a_long_idle_transaction"] or not report["llm"]["samples"]:
        failures.append("a transaction stayed open during an LLM wait (or no wait was sampled)")
    report["failures"] = failures
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--snapshot-rate", type=float, default=200.0, help="record_snapshot requests per second")
    parser.add_argument("--generate-rate", type=float, default=20.0, help="generate_post requests per second")
    parser.add_argument("--duplicates", type=float, default=0.3, help="share of snapshot requests that repeat one")
    parser.add_argument("--llm-latency", type=float, default=0.4, help="seconds the stubbed LLM takes per call")
    parser.add_argument("--posts", type=int, default=200, help="published posts the snapshots are about")
    parser.add_argument("--threads", type=int, default=32, help="gunicorn threads per function (THREADS)")
    parser.add_argument("--pool", type=int, default=8, help="database connections per function (DB_POOL_MAX)")
    parser.add_argument("--clients", type=int, default=96, help="client threads sending the requests")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="use this (migrated) database; default: a fresh one")
    parser.add_argument("--out", type=Path, default=REPORT, help="where the JSON report goes")
    args = parser.parse_args(argv)
    report = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name, s in report["streams"].items():
        print(
            f"{name:16} {s['requests']:6} requests at {s['achieved_rate']:6.1f}/s (target {s['target_rate']:g}/s),"
            f" errors {s['errors']}, p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, max {s['max_ms']} ms"
        )
    print(f"rows: {json.dumps(report['rows'])}")
    print(f"LLM waits: {json.dumps(report['llm'])}")
    if report["failures"]:
        print("FAILED: " + "; ".join(report["failures"]), file=sys.stderr)
        return 1
    print(f"load: 0 errors, rows = unique requests, no transaction idle during an LLM wait ({args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
