"""``make bench``: what users wait for, measured on this machine; writes docs/performance.md.

Everything runs against a fresh embedded Postgres (real server, loopback
socket) with the LLM offline. ``--quick`` runs every section at a small
scale (the test suite uses it to keep the benchmark working).
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
from psycopg.conninfo import make_conninfo

from benchmarks.learner_cost import cost_section
from benchmarks.rtcount import RoundTripProxy
from benchmarks.suite import suite_world
from shared.bootstrap import Runtime, build_runtime, use_runtime
from shared.clock import ManualClock
from shared.config import PROJECT_ROOT, Settings
from shared.core.action_space import ActionSpace
from shared.core.bandit import BanditParams
from shared.core.profile import Profile
from shared.services.dashboard import refresh_typical_contexts
from shared.services.evaluation import LIMIT as EVALUATION_WINDOW
from shared.services.evaluation import refresh_evaluation
from shared.services.generation import GenerateCommand, create_post
from shared.services.learning import apply_update
from shared.services.lifecycle import fit_when_due
from shared.services.profiles import save_profiles
from shared.services.rewards import compute_one, sweep
from shared.store.db import Database

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FUNCTIONS = ("generate_post", "record_snapshot", "compute_reward", "update_policy")


@dataclasses.dataclass(frozen=True)
class Scale:
    decisions: int
    updates: int
    computes: int
    sweep: int
    history: tuple[int, ...]
    page_repeats: int
    learn_updates: tuple[int, ...]


FULL = Scale(
    decisions=500,
    updates=600,
    computes=600,
    sweep=100_000,
    history=(1_000, 10_000, 100_000, 1_000_000),
    page_repeats=6,
    learn_updates=(100, 1_000, 10_000, 100_000),
)
HISTORY_BUSINESSES = 100
QUICK = Scale(
    decisions=30, updates=40, computes=40, sweep=500, history=(1_000, 5_000), page_repeats=2, learn_updates=(100, 1_000)
)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


class Bench:
    def __init__(self, runtime: Runtime, scale: Scale) -> None:
        self.rt = runtime
        self.scale = scale
        self.rng = np.random.default_rng(5)
        self.business = uuid.UUID(int=1)
        self.lines: list[str] = []
        profile = Profile(
            business_id=self.business,
            name="Bench Co",
            business_types=("Technology", "B2B"),
            embedding=self.rng.normal(size=384),
            follower_counts={"instagram": 5000, "x": 2000, "linkedin": 8000, "facebook": 3000},
        )
        save_profiles(runtime.db, [profile])

    def out(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.rt.db.transaction() as conn:
            cur = conn.execute(query.encode() if not params else query, params or None)
            return cur.fetchall() if cur.description else []

    def command(self, i: int, platform: str = "linkedin", *, auto_publish: bool = False) -> GenerateCommand:
        return GenerateCommand(
            business_id=self.business,
            request_id=f"bench-{uuid.uuid4().hex}",
            platform=platform,  # type: ignore[arg-type]
            topic="quarterly product update",
            topic_embedding=self.rng.normal(size=384),
            scheduled_for=NOW - timedelta(days=3, minutes=i),
            auto_publish=auto_publish,
        )

    def generate(self, cmd: GenerateCommand, rt: Runtime | None = None) -> Any:
        r = rt or self.rt
        return create_post(
            r.db,
            cmd,
            space=r.space,
            params=r.params,
            reward_config=r.reward_config,
            embedder=None,
            now=NOW,
        )

    # --- 1. decisions -------------------------------------------------------------------------------
    def apply_updates(self, n: int) -> int:
        """Apply at least ``n`` pending updates through update_policy, as its tasks do (each delivery
        learns the pending group); the policy's version after them."""
        v0 = version = self.sql("select version from policy_state")[0][0]
        while version - v0 < n:
            pending = self.sql(
                "select post_id from rewards where value is not null and baseline_before is not null"
                " and not policy_applied order by computed_at limit 1"
            )
            if not pending:
                raise RuntimeError("no pending update left: grow the history")
            apply_update(self.rt.db, pending[0][0], NOW, self.rt.params, space=self.rt.space)
            version = self.sql("select version from policy_state")[0][0]
        return int(version)

    def settle(self, limit: float = 300.0) -> tuple[float, float]:
        """Wait until the database's background work is done (a checkpoint, no autovacuum worker
        running) and the 1-minute load average is under 1, at most ``limit`` seconds:
        (seconds waited, the load average then)."""
        started = time.perf_counter()
        self.sql("checkpoint")
        while time.perf_counter() - started < limit:
            busy = self.sql("select count(*) from pg_stat_activity where backend_type = 'autovacuum worker'")[0][0]
            if busy == 0 and os.getloadavg()[0] < 1.0:
                break
            time.sleep(5)
        return time.perf_counter() - started, os.getloadavg()[0]

    def decision_latency(self, rt: Runtime | None = None, n: int | None = None) -> tuple[list[float], list[float]]:
        """(total, compute-only) seconds per decision, in process."""
        from shared.core.context import build_context
        from shared.core.policy import select
        from shared.core.prompts import build_prompts, offline_caption

        r = rt or self.rt
        n = n or self.scale.decisions
        for i in range(20):
            self.generate(self.command(i), r)
        total, compute = [], []
        for i in range(n):
            cmd = self.command(i)
            t = time.perf_counter()
            self.generate(cmd, r)
            total.append(time.perf_counter() - t)
            # The pure part alone, on the same kind of inputs (no database).
            t = time.perf_counter()
            ctx = build_context("linkedin", NOW, "UTC", self.rng.normal(size=384), cmd.topic_embedding)
            sel = select(r.space, {}, self._theta(r), ctx.x, r.params, i)
            build_prompts(self._profile, "linkedin", cmd.topic, r.space, sel.action)
            offline_caption(self._profile, cmd.topic, r.space, sel.action)
            compute.append(time.perf_counter() - t)
        return total, compute

    @property
    def _profile(self) -> Profile:
        return Profile(business_id=self.business, name="Bench Co")

    def _theta(self, r: Runtime) -> dict[tuple[str, str], Any]:
        return {pair: self.rng.normal(size=768) * 0.01 for pair in r.space.pairs()}

    def round_trips(self, url: str) -> float:
        host = parse_qs(urlparse(url).query)["host"][0]
        proxy = RoundTripProxy(Path(host) / ".s.PGSQL.5432")
        db = Database(proxy.url, max_size=1)
        rt = dataclasses.replace(self.rt, db=db)
        try:
            self.generate(self.command(0), rt)  # connect and warm up outside the count
            n = 20
            before = proxy.trips
            for i in range(n):
                self.generate(self.command(i), rt)
            return (proxy.trips - before) / n
        finally:
            db.close()
            proxy.close()

    def http_latency(self, n: int) -> tuple[list[float], list[float]]:
        """(test client, loopback HTTP) seconds per generate_post."""
        import http.client

        import functions_framework
        from werkzeug.serving import make_server

        app = functions_framework.create_app(target="generate_post", source=str(PROJECT_ROOT / "main.py"))  # type: ignore[no-untyped-call]
        client = app.test_client()

        def body() -> bytes:
            return json.dumps(
                {
                    "business_id": str(self.business),
                    "request_id": f"http-{uuid.uuid4().hex}",
                    "platform": "x",
                    "topic": "launch",
                    "topic_embedding": [0.01] * 384,
                }
            ).encode()

        in_process = []
        for _ in range(n):
            data = body()
            t = time.perf_counter()
            resp = client.post("/", data=data, content_type="application/json")
            in_process.append(time.perf_counter() - t)
            assert resp.status_code == 201, resp.get_data()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        over_http = []
        try:
            for _ in range(n):
                data = body()
                t = time.perf_counter()
                conn.request("POST", "/", body=data, headers={"Content-Type": "application/json"})
                resp2 = conn.getresponse()
                resp2.read()
                over_http.append(time.perf_counter() - t)
                assert resp2.status == 201
        finally:
            conn.close()
            server.shutdown()
        return in_process, over_http

    # --- 2. updates and rewards ---------------------------------------------------------------------
    def computed_rewards(self, n: int) -> list[uuid.UUID]:
        """n posts with a decision and a computed reward, ready for update_policy."""
        ids = [self.generate(self.command(i, "x")).post_id for i in range(n)]
        self.sql(
            "update posts set status = 'posted', posted_at = scheduled_for, media_id = 'm' where post_id = any(%s)",
            (ids,),
        )
        self.sql(
            "insert into rewards (post_id, status, eligible_at, finalize_by, value, baseline_before, baseline_after,"
            " definition_version, computed_at)"
            " select id, 'computed', %s, %s, (random() - 0.5) * 0.4, 0, 0, 'bench', %s from unnest(%s::uuid[]) id",
            (NOW, NOW, NOW, ids),
        )
        return ids

    def update_throughput(self, workers: int, ids: list[uuid.UUID]) -> tuple[float, float, int]:
        """(updates per second, share of samples with a lock wait, lost updates)."""
        v0 = self.sql("select version from policy_state")[0][0]
        stop = threading.Event()
        samples: list[int] = []

        def sample() -> None:
            with self.rt.db.statement() as conn:
                while not stop.is_set():
                    row = conn.execute(
                        "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                    ).fetchone()
                    samples.append(int(row[0]) if row else 0)
                    time.sleep(0.002)

        sampler = threading.Thread(target=sample)
        sampler.start()
        chunks = [ids[i::workers] for i in range(workers)]

        def work(chunk: list[uuid.UUID]) -> None:
            for pid in chunk:
                apply_update(self.rt.db, pid, NOW, self.rt.params, space=self.rt.space)

        threads = [threading.Thread(target=work, args=(c,)) for c in chunks]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t
        stop.set()
        sampler.join()
        v1 = self.sql("select version from policy_state")[0][0]
        lost = len(ids) - (v1 - v0)
        waits = sum(1 for s in samples if s > 0) / max(len(samples), 1)
        return len(ids) / elapsed, waits, lost

    def due_rewards(self, n: int, tag: str) -> list[uuid.UUID]:
        """n published posts, each with its decision (a real decision's, copied), 6 h and 24 h
        snapshots and a pending, due reward (bulk SQL). Posts are made 30 h ago, before they
        were published, as live ones are; a post never exists without its decision."""
        if not self.sql("select 1 from decisions where not holdback limit 1"):
            self.generate(self.command(0))
        made = NOW - timedelta(hours=30)
        rows = self.sql(
            "with p as ("
            " insert into posts (post_id, business_id, request_id, platform, topic, scheduled_for, status,"
            "  media_id, posted_at, mode, caption_prompt, image_prompt, caption, created_at)"
            " select gen_random_uuid(), %s, %s || g, (array['instagram','x','linkedin','facebook'])[1 + g %% 4],"
            "  't', %s, 'posted', 'm', %s, 'standard', 'c', 'i', 'c', %s from generate_series(1, %s) g"
            " returning post_id, platform, posted_at),"
            " d as (insert into decisions (decision_id, post_id, platform, time_bucket, day_of_week, x,"
            "  context_fallback, choices, joint_propensity, tau, epsilon, policy_version, action_space, seed,"
            "  holdback, normaliser_version, learner, action, created_at)"
            " select gen_random_uuid(), p.post_id, p.platform, t.time_bucket, t.day_of_week, t.x, false, t.choices,"
            "  t.joint_propensity, t.tau, t.epsilon, t.policy_version, t.action_space, t.seed, false,"
            "  t.normaliser_version, t.learner, t.action, %s"
            "  from p, (select * from decisions where not holdback order by created_at limit 1) t returning post_id)"
            " insert into rewards (post_id, eligible_at, finalize_by)"
            " select p.post_id, p.posted_at + interval '24 hours', p.posted_at + interval '48 hours'"
            " from p join d using (post_id) returning post_id",
            (self.business, f"{tag}-", made, made, made, n, made),
        )
        ids = [r[0] for r in rows]
        self.sql(
            "insert into snapshots (post_id, observed_at, likes, comments, shares, saves, replies, reposts,"
            " reactions, follower_count, processed_at)"
            " select id, %s + make_interval(hours => h), 40 * h, h, h / 2, h / 3, h, h / 2, 30 * h, 5000, %s"
            " from unnest(%s::uuid[]) id, (values (6), (24)) s(h)",
            (NOW - timedelta(hours=30), NOW, ids),
        )
        return ids

    def compute_throughput(self, workers: int, ids: list[uuid.UUID]) -> float:
        chunks = [ids[i::workers] for i in range(workers)]

        def work(chunk: list[uuid.UUID]) -> None:
            for pid in chunk:
                compute_one(self.rt.db, pid, NOW, self.rt.reward_config, self.rt.params)

        threads = [threading.Thread(target=work, args=(c,)) for c in chunks]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return len(ids) / (time.perf_counter() - t)

    def run_sweep(self, n: int) -> tuple[float, float, int]:
        """(seconds, peak Python memory in MB, rewards settled)."""
        tracemalloc.start()
        t = time.perf_counter()
        report = sweep(self.rt.db, NOW, self.rt.reward_config, self.rt.params, lambda _: None, limit=n + 10)
        elapsed = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return elapsed, peak / 2**20, report.computed

    # --- 4. growth ----------------------------------------------------------------------------------
    def grow_history(self, total: int) -> None:
        """Up to ``total`` posts, shaped like a deployment's: HISTORY_BUSINESSES businesses (each
        with an owner), a year of days, every platform and time bucket, each post with its
        decision (768 random floats of context, a real decision's choices), a final reward and
        two snapshots (bulk SQL; the activity tables' triggers count them as they would live)."""
        self._history_setup()
        # The history's own posts (the earlier sections' posts, all of the last days, are not counted).
        have = self.sql("select count(*) from posts where request_id like 'hist-%%'")[0][0]
        missing = total - have
        step = 50_000
        # A deployment writes its rows as time passes: the rows of a load go in oldest first,
        # over the year (days_back below falls with i), so the latest decisions share pages as
        # a live table's do. (Spread over the year in every batch, the latest 5,000 of 10⁶ sat
        # on 5,000 different pages.)
        start, load = 0, missing
        while missing > 0:
            n = min(step, missing)
            self.sql(
                "with g as ("
                " select gen_random_uuid() as post_id, (select array_agg(business_id order by business_id)"
                "   from profiles where name like 'History %%') as bs, i,"
                "  1 + ((%s - i) * 365) / %s as days_back from generate_series(%s + 1, %s + %s) i),"
                " p as ("
                " insert into posts (post_id, business_id, request_id, platform, topic, scheduled_for, status,"
                "  media_id, posted_at, mode, caption_prompt, image_prompt, caption, created_at)"
                " select post_id, bs[1 + i %% cardinality(bs)], 'hist-' || post_id,"
                "  (array['instagram','x','linkedin','facebook'])[1 + i %% 4], 't',"
                "  %s - make_interval(days => days_back, hours => 6 * ((i / 4) %% 4)), 'posted', 'm',"
                "  %s - make_interval(days => days_back, hours => 6 * ((i / 4) %% 4)), 'standard',"
                "  'c', 'i', 'c', %s - make_interval(days => days_back, hours => 6 * ((i / 4) %% 4) + 1)"
                "  from g returning post_id, platform, scheduled_for, posted_at, created_at),"
                " d as (insert into decisions (decision_id, post_id, platform, time_bucket, day_of_week, x,"
                "  context_fallback, choices, joint_propensity, tau, epsilon, policy_version, action_space, seed,"
                "  holdback, normaliser_version, learner, action, created_at)"
                " select gen_random_uuid(), p.post_id, p.platform,"
                "  (array['morning','afternoon','evening','night'])[1 + extract(hour from p.scheduled_for)::int / 6],"
                "  extract(isodow from p.scheduled_for)::int - 1, pool.x, false, t.choices, t.joint_propensity,"
                "  t.tau, t.epsilon, t.policy_version, t.action_space, t.seed, false, t.normaliser_version,"
                "  t.learner, t.action, p.created_at"
                "  from p join bench_x_pool pool on pool.i = 1 + abs(hashtext(p.post_id::text)) %% 1000,"
                "  (select * from decisions where not holdback order by created_at limit 1) t"
                "  returning post_id),"
                " r as (insert into rewards (post_id, status, eligible_at, finalize_by, value, baseline_before,"
                "  baseline_after, definition_version, computed_at)"
                " select p.post_id, 'computed', p.posted_at + interval '24 hours', p.posted_at + interval '48 hours',"
                "  0.3 + 0.1 * ((abs(hashtext(p.post_id::text)) %% 11) - 5) / 5.0, 0.3, 0.3, 'hist',"
                "  p.posted_at + interval '24 hours' from p join d using (post_id) returning post_id)"
                " insert into snapshots (post_id, observed_at, likes, follower_count, processed_at)"
                " select r.post_id, p.posted_at + make_interval(hours => h), 10 * h, 4000, %s"
                " from r join p using (post_id), (values (6), (24)) s(h)",
                (load, load, start, start, n, NOW, NOW, NOW, NOW),
            )
            start += n
            missing -= n
        # What autovacuum does after a bulk load (and after the sections before, whose ~110,000
        # posts and tasks it would otherwise still be vacuuming), done before measuring: otherwise
        # its passes (gigabytes at 10⁶) run during the measurements.
        with self.rt.db.statement() as conn:
            conn.execute("vacuum (analyze)")
        self.settle()  # and the checkpoint that writes what the load and the vacuum dirtied

    def _history_setup(self) -> None:
        """The history's businesses, a pool of 1,000 random contexts, and a real decision to copy."""
        if self.sql("select count(*) from profiles where name like 'History %%'")[0][0] == 0:
            history = [
                Profile(
                    business_id=uuid.UUID(int=10_000 + k),
                    owner_id=uuid.UUID(int=20_000 + k),
                    name=f"History {k}",
                    embedding=self.rng.normal(size=384),
                    follower_counts={"instagram": 5000, "x": 2000, "linkedin": 8000, "facebook": 3000},
                )
                for k in range(HISTORY_BUSINESSES)
            ]
            save_profiles(self.rt.db, history)
            with self.rt.db.transaction() as conn:
                conn.execute("create table bench_x_pool (i int primary key, x float8[] not null)")
                with conn.cursor().copy("copy bench_x_pool (i, x) from stdin") as copy:
                    for i in range(1, 1001):
                        copy.write_row((i, list(self.rng.normal(scale=0.05, size=768))))
        if not self.sql("select 1 from decisions where not holdback limit 1"):
            self.generate(self.command(0))

    def history_owner(self) -> uuid.UUID:
        """The owner of one history business (a hundredth of the posts)."""
        return uuid.UUID(int=20_000)

    def plans(self) -> list[str]:
        """The plans of the statements whose cost could grow with history."""
        out = []
        post = self.sql("select post_id from posts limit 1")[0][0]
        for label, q, params in (
            ("existing post", "explain select 1 from posts where post_id = %s", (post,)),
            (
                "due rewards",
                "explain select post_id from rewards where status = 'pending' and eligible_at <= %s"
                " order by post_id limit 200 for update skip locked",
                (NOW,),
            ),
            ("snapshots of a batch", "explain select * from snapshots where post_id = any(%s)", ([post],)),
        ):
            plan = " / ".join(r[0].strip() for r in self.sql(q, params)[:3])
            out.append(f"- {label}: `{plan}`")
        return out


def cold_start(
    function: str, url: str, n_requests: int, *, embed: bool = False, sweep: bool = False
) -> tuple[float, float, float]:
    """(seconds from spawning a fresh interpreter to the function's first response, peak RSS MB
    after it, peak RSS MB after ``n_requests`` more) of one function, as an instance serves it.
    With ``embed``, generate_post's requests carry no topic vector, so the first one loads the
    embedder; with ``sweep``, compute_reward is sent the Scheduler's sweep rather than a post's
    task. The peak is the process's own VmHWM (getrusage's ru_maxrss would carry this
    benchmark's peak across exec)."""
    code = f"""
import json, time, uuid
from benchmarks.page_cost import peak_rss_mb
import functions_framework
app = functions_framework.create_app(target="{function}", source="main.py").test_client()
def call(i):
    if "{function}" == "report":
        return app.get("/").status_code
    if "{function}" == "generate_post":
        body = {{"business_id": "{uuid.UUID(int=1)}", "request_id": uuid.uuid4().hex, "platform": "x",
                "topic": f"topic {{i}}"}}
        if not {embed}:
            body["topic_embedding"] = [0.01] * 384
    elif "{function}" == "record_snapshot":
        body = {{"type": "deleted", "post_id": str(uuid.uuid4()), "deleted_at": "2026-01-01T00:00:00Z"}}
    elif "{function}" == "compute_reward" and {sweep}:
        body = {{"sweep": True, "limit": 10}}
    else:
        body = {{"post_id": str(uuid.uuid4())}}
    return app.post("/", data=json.dumps(body), content_type="application/json").status_code
status = call(0)
first, first_peak = time.time(), peak_rss_mb()
for i in range({n_requests}):
    call(i + 1)
print(json.dumps([first, first_peak, peak_rss_mb(), status]))
"""
    env = {**os.environ, "DATABASE_URL": url, "AUTH_MODE": "disabled", "PYTHONPATH": str(PROJECT_ROOT)}
    env |= {"RATE_POSTS_PER_HOUR": "0", "RATE_SNAPSHOTS_PER_HOUR": "0"}
    env["EMBEDDER"] = "minilm" if embed else "none"
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    first, first_peak, peak, status = json.loads(done.stdout.strip().splitlines()[-1])
    if int(status) >= 500:
        raise RuntimeError(f"{function} answered {status}: {done.stderr[-2000:]}")
    return float(first) - spawned, float(first_peak), float(peak)


def scaled_space() -> ActionSpace:
    def dim(name: str, n: int, prefix: str) -> dict[str, Any]:
        return {"name": name, "values": [f"{prefix}_{i}" for i in range(n)]}

    return ActionSpace.from_dict(
        {
            "version": "scaled-bench",
            "dimensions": [
                dim("HOOK_TYPE", 20, "hook"),
                dim("LENGTH", 2, "length"),
                dim("TONE", 20, "tone"),
                dim("CREATIVITY", 3, "creativity"),
                dim("TEXT_IN_IMAGE", 2, "text"),
                dim("VISUAL_STYLE", 24, "style"),
                dim("COMPOSITION", 9, "composition"),
            ],
        }
    )


def report(bench: Bench, url: str, quick: bool, sections: set[int]) -> None:
    out = bench.out
    out("# Performance")
    out()
    out(
        f"Measured by `make bench` ({'quick scale' if quick else 'full scale'}) on "
        f"{datetime.now(UTC):%Y-%m-%d}: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, embedded PostgreSQL 16 on a local socket, LLM offline. "
        f"Load average at start: {os.getloadavg()[0]:.1f}."
    )
    out()

    if 1 in sections:
        decisions(bench, url)
    if 2 in sections:
        throughput(bench)
    if 3 in sections:
        sweeping(bench)
    if 4 in sections:
        growth(bench)
    if 5 in sections:
        cold_starts(bench, url, quick)
    if 6 in sections:
        large_space(bench)
    if 7 in sections:
        learner_alone(bench)
    if 8 in sections:
        learning_while_deciding(bench)
    out("Rerun: `make bench` (full scale, about 25 minutes) or `python -m benchmarks.performance --quick`.")


def decisions(bench: Bench, url: str) -> None:
    s, out = bench.scale, bench.out
    total, compute = bench.decision_latency()
    trips = bench.round_trips(url)
    in_proc, over_http = bench.http_latency(max(s.decisions // 2, 20))
    out("## 1. generate_post latency (target: p50 ≤ 10 ms in process, ≤ 3 round trips)")
    out()
    out("| path | p50 | p99 |")
    out("|---|---|---|")
    out(f"| service call, in process ({len(total)} decisions) | {ms(pct(total, 50))} | {ms(pct(total, 99))} |")
    out(f"| of which pure compute (context, policy, prompts) | {ms(pct(compute, 50))} | {ms(pct(compute, 99))} |")
    db_part = [t - c for t, c in zip(total, compute, strict=True)]
    out(f"| of which database (the rest) | {ms(pct(db_part, 50))} | {ms(pct(db_part, 99))} |")
    out(f"| functions-framework test client | {ms(pct(in_proc, 50))} | {ms(pct(in_proc, 99))} |")
    out(f"| HTTP on loopback (keep-alive) | {ms(pct(over_http, 50))} | {ms(pct(over_http, 99))} |")
    out()
    out(
        f"Database round trips per decision (counted by a proxy on the wire): **{trips:.1f}** "
        "(one pipelined read of profile, existing post and policy; one insert of post and decision)."
    )
    out()


def throughput(bench: Bench) -> None:
    s, out = bench.scale, bench.out
    out("## 2. update_policy and compute_reward throughput (target: ≥ 300 updates/s with 4 workers)")
    out()
    out("| workers | updates/s | samples with a lock wait | lost updates |")
    out("|---|---|---|---|")
    for workers in (1, 2, 4):
        ids = bench.computed_rewards(s.updates)
        rate, waits, lost = bench.update_throughput(workers, ids)
        out(f"| {workers} | {rate:.0f} | {waits:.0%} | {lost} |")
    out()
    written = (
        "the reward model learns the group and writes its solution, its whole state every 16 groups"
        if bench.rt.params.learner == "bandit"
        else "H and θ written once with the summed steps"
    )
    out(
        "Each delivery applies, under the one version lock, every pending update up to 32 "
        f"(one ledger row and version each; {written}), so "
        "deliveries that find their update done answer at once."
    )
    out()
    out("| workers | compute_reward/s |")
    out("|---|---|")
    for workers in (1, 2):
        due = bench.due_rewards(s.computes, f"cr{workers}")
        out(f"| {workers} | {bench.compute_throughput(workers, due):.0f} |")
    out()


def sweeping(bench: Bench) -> None:
    s, out = bench.scale, bench.out
    out(f"## 3. Sweep over {s.sweep:,} due rewards (target: ≤ 60 s, memory bounded)")
    out()
    out("| backlog | time | rewards/s | peak Python memory |")
    out("|---|---|---|---|")
    for n in (s.sweep // 10, s.sweep):
        bench.due_rewards(n, f"sweep{n}")
        # A live database has planner statistics (autovacuum); a bulk load just made does not.
        bench.sql("analyze")
        seconds, peak, settled = bench.run_sweep(n)
        out(f"| {n:,} | **{seconds:.1f} s** | {settled / seconds:,.0f} | {peak:.1f} MB |")
    out()
    out(
        "Batches of 200, one transaction each; a batch's update tasks are dispatched when it"
        " commits, so the peak memory does not grow with the backlog."
    )
    out()


def growth(bench: Bench) -> None:
    s, out = bench.scale, bench.out
    out("## 4. Costs as data grows (targets: decision at 10⁶ posts within 20% of 10³; page and evaluation")
    out("within 20% of 10³, ≤ 1 s, peak RSS ≤ 256 MB at every size)")
    out()
    out(
        "| history posts and decisions stored | decision p50 | decision p99 | pure decision p50 |"
        " sweep per reward (2,000 due) |"
        " page p50 (p99), its size | owner's page p50, its size | evaluation p50 (decisions) |"
        " peak RSS page / evaluation |"
    )
    out("|---|---|---|---|---|---|---|---|---|")
    first: dict[str, float] = {}
    by_size: dict[int, dict[str, float]] = {}
    url = bench.rt.db.url
    for size in s.history:
        bench.grow_history(size)
        lat, pure = bench.decision_latency(n=max(s.decisions // 2, 20))
        due = bench.due_rewards(min(2000, s.sweep), f"g{size}")
        sec, _, settled = bench.run_sweep(len(due))
        # What the sweep stores for the page, as a deployment's last sweep left it; and the context
        # normaliser its sweeps fitted once, long ago (after 300 decisions by default).
        fit_when_due(bench.rt.db, space=bench.rt.space, now=NOW, after=1)
        refresh_typical_contexts(bench.rt.db, NOW)
        refresh_evaluation(bench.rt.db, bench.rt.space, NOW)
        page = page_cost(url, "page", s.page_repeats)
        owner = page_cost(url, "owner", s.page_repeats, bench.history_owner())
        evaluation = page_cost(url, "evaluate", s.page_repeats)
        figures = {
            "decision": pct(lat, 50),
            "pure": pct(pure, 50),
            "page": page.p50,
            "owner": owner.p50,
            "evaluation": evaluation.p50,
        }
        for k, v in figures.items():
            first.setdefault(k, v)
        by_size[size] = figures | {"evaluated": float(evaluation.size)}

        vs = {k: f"{ms(v)} ({v / first[k] - 1:+.0%})" for k, v in figures.items()}

        out(
            f"| {size:,} | {vs['decision']} | {ms(pct(lat, 99))} | {vs['pure']} | {ms(sec / max(settled, 1))} |"
            f" {vs['page']} ({ms(page.p99)}), {page.size / 1000:.0f} kB | {vs['owner']}, {owner.size / 1000:.0f} kB |"
            f" {vs['evaluation']} ({evaluation.size:,}) |"
            f" {page.peak_rss_mb:.0f} / {evaluation.peak_rss_mb:.0f} MB |"
        )
    out()
    if len(s.history) > 2:
        low, high = by_size[s.history[1]], by_size[s.history[-1]]
        growth = {k: f"{high[k] / low[k] - 1:+.0%}" for k in figures}
        smallest = by_size[s.history[0]]
        per_decision = (high["evaluation"] / high["evaluated"]) / (smallest["evaluation"] / smallest["evaluated"]) - 1
        out(
            f"From {s.history[1]:,} history posts to {s.history[-1]:,}: page {growth['page']}, owner's page"
            f" {growth['owner']}, evaluation {growth['evaluation']}; the evaluation's time per decision it read,"
            f" from {s.history[0]:,} to {s.history[-1]:,}: {per_decision:+.0%}. At {s.history[0]:,} most of the"
            " year's cells and weeks have no post yet (an owner's business has about ten), so the pages show less"
            " (their size);"
            f" from {s.history[1]:,} on every cell has posts in most weeks. The evaluation reads the latest"
            f" {EVALUATION_WINDOW:,} rewarded decisions (or all there are)."
        )
        out()
    out(
        f"History rows: posts of {HISTORY_BUSINESSES} businesses over a year, every platform and time bucket,"
        " each with its decision (768 random context floats, stored as the service stores them), a final"
        " reward and two snapshots (bulk SQL, counted by the activity tables' triggers as live writes are),"
        " vacuumed and analysed after each load as autovacuum would leave them, and written oldest first as a"
        " deployment writes them. Beside them are the posts the sections before made (in a full run about"
        " 110,000, all of the last days; they are the newest decisions the evaluation reads)."
        " The page is read after the sweep's refresh (typical contexts, evaluation) as a deployment's page is."
        " The pure decision (its math alone, no database) is the machine's pace while the row was measured."
        f" Page and evaluation: {s.page_repeats} repeats each in a fresh process (the first included in the"
        " p99, not in the p50), as the report function and the sweep run them; the owner's page is one"
        " business's (a hundredth of the posts) under row-level security; the evaluation is the sweep's work"
        " (IPS, SNIPS and DR with 500 bootstrap draws on the latest 5,000 rewarded decisions). Peak RSS is"
        " the process's own high-water mark (VmHWM), imports included. Plans at the largest size:"
    )
    out()
    for line in bench.plans():
        out(line)
    out()


@dataclasses.dataclass(frozen=True)
class PageCost:
    p50: float  # of the repeats after the first
    p99: float  # of every repeat
    peak_rss_mb: float
    size: int  # the page's length (characters) or the decisions evaluated


def page_cost(url: str, what: str, repeats: int, owner: uuid.UUID | None = None) -> PageCost:
    """benchmarks/page_cost.py in a fresh interpreter (a report or sweep instance's process)."""
    args = [sys.executable, "-m", "benchmarks.page_cost", "--database-url", url, "--what", what]
    args += ["--repeats", str(repeats), "--now", NOW.isoformat()]
    if owner is not None:
        args += ["--owner", str(owner)]
    done = subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    times = [float(t) for t in result["times"]]
    return PageCost(pct(times[1:] or times, 50), pct(times, 99), float(result["peak_rss_mb"]), int(result["size"]))


def cold_starts(bench: Bench, url: str, quick: bool) -> None:
    out = bench.out
    n, spawns = (20, 2) if quick else (200, 5)
    out("## 5. Cold start and memory per function (targets: first response ≤ 0.6 s, peak RSS ≤ 120 MB where")
    out("nothing is embedded)")
    out()
    out(
        f"| function | spawn to first response, median of {spawns} (range) | peak RSS after it |"
        f" peak RSS after {n} more requests |"
    )
    out("|---|---|---|---|")
    # Bytecode as a build leaves it: with PYTHONDONTWRITEBYTECODE set (as on these machines), every spawn
    # compiled the sources again, 70–80 ms of each first response.
    for item in ("main.py", "functions", "shared", "benchmarks"):
        path = PROJECT_ROOT / item
        compiled = compileall.compile_file(path, quiet=1) if path.is_file() else compileall.compile_dir(path, quiet=1)
        if not compiled:
            raise RuntimeError(f"{item} did not compile")
    waited, load = bench.settle()
    cases: list[tuple[str, str, dict[str, bool]]] = [(fn, fn, {}) for fn in (*FUNCTIONS, "report")]
    cases += [
        ("generate_post, topics embedded here (MiniLM)", "generate_post", {"embed": True}),
        (
            "compute_reward, the Scheduler's sweep with its periodic refresh due (one spawn)",
            "compute_reward",
            {"sweep": True},
        ),
    ]
    for label, fn, how in cases:
        if "sweep" in how:
            # The policy moved on since the stored evaluation (as after any update): the refresh evaluates.
            bench.sql("delete from evaluations")
        # The first spawn also serves n more requests (memory as it serves); the others only the first.
        # The sweep's refresh is due once: its first spawn stores what the others would find fresh.
        runs = [cold_start(fn, url, n if k == 0 else 0, **how) for k in range(1 if "sweep" in how else spawns)]
        firsts = [r[0] for r in runs]
        out(
            f"| {label} | {pct(firsts, 50):.2f} s ({min(firsts):.2f}–{max(firsts):.2f}) |"
            f" {max(r[1] for r in runs):.0f} MB | {runs[0][2]:.0f} MB |"
        )
    out()
    out(
        "Each spawn is a fresh interpreter serving the function through functions-framework's test client, as an"
        " instance does, timed from the spawn (interpreter start, imports, first request); main.py imports only"
        " the function served. Peak RSS is the process's own high-water mark (VmHWM). The functions are given"
        " what their callers send most: generate_post a topic vector (the embedder's row: none, so it loads on the"
        " first request), record_snapshot a deletion, compute_reward a post's task, update_policy a post, report"
        " the page. The sweep's row is the Scheduler's call when the periodic refresh is due (the off-policy"
        " evaluation and the page's aggregates over the history of section 4), which one sweep in"
        " DASHBOARD_EVERY_HOURS runs, whichever instance serves it. The sources are compiled to bytecode first, as"
        " an image build leaves them (uncompiled, each spawn took 70–80 ms more)."
        f" The spawns began once the database's own work after section 4's loads was done (a checkpoint, no"
        f" autovacuum worker left, load average under 1): {waited:.0f} s of waiting, load average {load:.1f}"
        " then. A deployed instance does not share its cores with the database's maintenance. (Before the"
        " compiling and the wait, a full run's medians were 0.57–0.63 s.)"
    )
    out()


def learning_while_deciding(bench: Bench) -> None:
    s, out = bench.scale, bench.out
    out("## 8. Decisions while the policy learns (targets: generate_post p50 and p99 after 100,000 updates")
    out("within 10% of after 100; the state a decision reads stays small)")
    out()
    out(
        "| updates applied | generate_post p50 | p99 | pure decision p50 | the rows a decision reads, on disk |"
        " the learner's checkpoint, on disk (live) | ledger (policy_updates) | updates/s since the row above |"
    )
    out("|---|---|---|---|---|---|---|---|")
    bench.grow_history(
        max(s.learn_updates[-1] + 1_000, bench.sql("select count(*) from posts where request_id like 'hist-%%'")[0][0])
    )
    v0 = bench.sql("select version from policy_state")[0][0]
    applied, first, first_pure, waits = 0, None, None, []
    for target in s.learn_updates:
        started = time.perf_counter()
        applied_before = applied
        applied = bench.apply_updates(target - applied) - v0
        rate = (applied - applied_before) / (time.perf_counter() - started)
        waits.append(bench.settle(limit=120)[0])  # the updates' autovacuum passes, done before timing
        lat, pure = bench.decision_latency(n=max(s.decisions // 2, 20))
        p50, pure50 = pct(lat, 50), pct(pure, 50)
        first, first_pure = first or p50, first_pure or pure50
        read = bench.sql(
            "select sum(pg_total_relation_size(t::regclass))::bigint from unnest(array['policy_state',"
            " 'policy_preferences', 'policy_theta', 'policy_baselines', 'learner_arrays']) t"
        )[0][0]
        checkpoint, live = bench.sql(
            "select pg_total_relation_size('learner_statistics'),"
            " (select coalesce(sum(pg_column_size(data)), 0) from learner_statistics)"
        )[0]
        ledger = bench.sql("select pg_total_relation_size('policy_updates')")[0][0]
        out(
            f"| {applied:,} | {ms(p50)} ({p50 / first - 1:+.0%}) | {ms(pct(lat, 99))} |"
            f" {ms(pure50)} ({pure50 / first_pure - 1:+.0%}) | {read / 1e6:.2f} MB |"
            f" {checkpoint / 1e6:.1f} MB ({live / 1e6:.1f} MB) | {ledger / 1e6:.1f} MB | {rate:,.0f} |"
        )
    out()
    out(
        "Updates are applied through update_policy as the tasks apply them (each delivery learns up to 32 pending"
        " rewards under the version lock), on the history's rewarded decisions; between the rows, decisions are"
        " timed as in section 1, once the updates' autovacuum passes are done (a checkpoint, no autovacuum worker,"
        f" load average under 1; waited {', '.join(f'{w:.0f}' for w in waits)} s, at most 120). The pure"
        " decision (the same math on the same kind of inputs, no database) is the machine's pace at that moment:"
        " when both columns move together, the machine moved, not the decision's reads."
        " Sizes are pg_total_relation_size (tables, TOAST and indexes, dead rows"
        " included until autovacuum takes them). A decision reads the learner's solution (learner_arrays, with"
        " policy_state and the gradient learner's tables, empty under the reward model), rewritten at every group"
        " of updates; the checkpoint (learner_statistics: the ridge's precision matrix, its whole state) is"
        " rewritten every 16 groups and read only by update_policy to resume. Both keep every array in parts of"
        " 200 floats, a row each, small enough to stay in the row (not out of line, in TOAST): a rewrite updates"
        " each part in its page, and the old version is pruned there, at this pace too (hundreds of updates a"
        " second, far more than a deployment's). The ledger keeps a row per applied update by design (the"
        " idempotency of update_policy); a decision never reads it."
    )
    out()
    paired_states(bench)


def paired_states(bench: Bench, blocks: int = 10) -> None:
    """generate_post after the first and the last count of updates, timed in the same minutes:
    two databases in the same server, each with the same history, one after few updates and one
    after many, their decisions timed in alternating blocks, so the machine's pace is the same for
    both (rows minutes apart moved by more than the 10% to be shown)."""
    s, out = bench.scale, bench.out
    few, many = s.learn_updates[0], s.learn_updates[-1]
    sides: list[Bench] = []
    try:
        for name in ("bench_few_updates", "bench_many_updates"):
            with bench.rt.db.statement() as conn:
                conn.execute(f"drop database if exists {name} with (force)".encode())
                conn.execute(f"create database {name}".encode())
            settings = bench.rt.settings.model_copy(
                update={"database_url": make_conninfo(bench.rt.db.url, dbname=name), "auto_migrate": True}
            )
            side = Bench(build_runtime(settings, clock=bench.rt.clock), bench.scale)
            side.lines = []  # its own output is not the report's
            side.grow_history(many + 1_000)
            sides.append(side)
        versions = [side.apply_updates(n) for side, n in zip(sides, (few, many), strict=True)]
        for side in sides:
            side.settle(limit=120)
        times: list[list[float]] = [[], []]
        per_block = max(s.decisions // (2 * blocks), 10)
        for k in range(blocks):
            for i in (0, 1) if k % 2 == 0 else (1, 0):
                times[i] += sides[i].decision_latency(n=per_block)[0]
    finally:
        for side in sides:
            side.rt.close()
        for name in ("bench_few_updates", "bench_many_updates"):
            with bench.rt.db.statement() as conn:
                conn.execute(f"drop database if exists {name} with (force)".encode())
    (f50, m50), (f99, m99) = ((pct(times[0], q), pct(times[1], q)) for q in (50, 99))
    out(
        f"The same two states in the same minutes: two databases in this server, each with {many + 1_000:,}"
        f" history posts, one after {versions[0]:,} updates and one after {versions[1]:,}, their decisions"
        f" timed in {blocks} alternating blocks of {per_block} each (after a warm-up): generate_post p50"
        f" {ms(f50)} → {ms(m50)} (**{m50 / f50 - 1:+.0%}**), p99 {ms(f99)} → {ms(m99)} ({m99 / f99 - 1:+.0%})."
    )
    out()


def large_space(bench: Bench) -> None:
    s, out = bench.scale, bench.out
    out("## 6. A larger action space (20 hooks × 2 × 20 tones × 3 × 2 × 24 styles × 9 compositions)")
    out()
    big = dataclasses.replace(bench.rt, space=scaled_space())
    lat, comp = bench.decision_latency(big, n=max(s.decisions // 2, 20))
    ids = [bench.generate(bench.command(i, "x"), big).post_id for i in range(max(s.updates // 3, 20))]
    bench.sql("update posts set status='posted', posted_at=scheduled_for, media_id='m' where post_id = any(%s)", (ids,))
    bench.sql(
        "insert into rewards (post_id, status, eligible_at, finalize_by, value, baseline_before, baseline_after,"
        " definition_version, computed_at) select id, 'computed', %s, %s, 0.2, 0, 0, 'b', %s"
        " from unnest(%s::uuid[]) id",
        (NOW, NOW, NOW, ids),
    )
    t = time.perf_counter()
    for pid in ids:
        apply_update(bench.rt.db, pid, NOW, bench.rt.params, space=bench.rt.space)
    per_update = (time.perf_counter() - t) / len(ids)
    how = (
        "the reward model: a low-rank change of its kept inverse and a few conjugate-gradient steps"
        if bench.rt.params.learner == "bandit"
        else "one θ row per value"
    )
    out(
        f"{scaled_space().size:,} joint actions, 80 values: decision p50 **{ms(pct(lat, 50))}** "
        f"(compute {ms(pct(comp, 50))}), update **{ms(per_update)}** each ({how})."
    )
    out()


def learner_alone(bench: Bench) -> None:
    """The deployed learner's pure cost (no database), beside VW on the same posts."""
    out = bench.out
    out("## 7. The learner alone (targets: decision ≤ 0.1 ms and update ≤ 1 ms p50, decision ≤ a fifth of VW's)")
    out()
    out(
        "`shared/core/bandit.py` at the default action space after 2,000 learned rewards, no database, one process "
        "(benchmarks/learner_cost.py, the same figures as docs/learning.md). update_policy adds the database: "
        "section 2."
    )
    out()
    for line in cost_section(suite_world("own-tastes", 1, 56), BanditParams()):
        out(line)
    out()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.performance", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small scale (seconds, not minutes)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "performance.md")
    parser.add_argument("--sections", default="1,2,3,4,5,6,7,8", help="which sections to run, e.g. 3 or 1,2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="learner-bench-") as tmp:
        # One bench business makes thousands of posts an hour: the hourly limits are off (they have their tests).
        settings = Settings(
            embedded_pg_dir=Path(tmp) / "pg",
            auth_mode="disabled",
            embedder="none",
            rate_posts_per_hour=0,
            rate_snapshots_per_hour=0,
        )
        runtime = build_runtime(settings, clock=ManualClock(NOW))
        use_runtime(runtime)
        try:
            bench = Bench(runtime, QUICK if args.quick else FULL)
            report(bench, runtime.db.url, args.quick, {int(x) for x in args.sections.split(",")})
        finally:
            use_runtime(None)
            runtime.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(bench.lines) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
