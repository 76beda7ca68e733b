"""``make bench-tenants``: how far one tenant can move another business's policy (issue 13's
takeover scenario), beside the same number of honest posts from one business; writes
docs/tenants.md.

Per seed: a week of honest traffic from six simulated businesses (simulation/campaign.py,
through the functions and a fresh embedded database), then either

* **fabricated**: a new business generates 60 posts on x in one hour, publishes them now
  (backdating is refused), and a day later reports 10¹² likes and 0 followers on those
  whose tone is humorous and zeros on the rest (every check the product makes, passed);
* **honest**: one of the six businesses posts 60 times on x in that hour, and the
  simulated audience's counters are reported a day later.

Measured on business 0 (the "victim") for its next post on x: the largest change of any
value's probability, and the change of the reward its policy earns in expectation in the
simulated audience, as a share of the gap between uniform random and the best action.
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from shared.bootstrap import Runtime, build_runtime, use_runtime
from shared.clock import ManualClock
from shared.config import PROJECT_ROOT, Settings
from shared.core.context import local_time, time_bucket_of
from shared.core.profile import Profile
from shared.services.profiles import save_profiles
from shared.tasks.local import LocalTaskRunner
from simulation.audience import Audience
from simulation.campaign import CampaignConfig, run_campaign
from simulation.local_functions import LocalFunctions

SEEDS = (1, 2, 3, 4, 5)
POSTS = 60
FOLLOWERS = {"instagram": 2000, "x": 2000, "linkedin": 2000, "facebook": 2000}


def _ok(answer: tuple[int, Any]) -> Any:
    status, body = answer
    if not 200 <= status < 300:
        raise RuntimeError(f"{status}: {body}")
    return body


@dataclass(frozen=True)
class Probe:
    probabilities: dict[str, dict[str, float]]
    earned: float  # E[r] of the policy's draw in the simulated audience


class World:
    """A campaign's end state and its simulated audience, with business 0 probed by drafts."""

    def __init__(self, runtime: Runtime, functions: LocalFunctions, config: CampaignConfig) -> None:
        self.runtime, self.functions, self.config = runtime, functions, config
        self.audience = Audience(
            runtime.space, config.seed, n_businesses=config.businesses, reward_config=runtime.reward_config
        )
        self.when = runtime.clock.now() + timedelta(days=2)
        victim = self.audience.businesses[0]
        bucket = time_bucket_of(local_time(self.when, victim.time_zone).hour)
        self.rewards = self.audience.expected_rewards(victim, self.audience.topics[0], "x", bucket)

    def business_id(self, index: int) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sim/{self.config.seed}/{index}"))

    def probe(self, tag: str) -> Probe:
        topic = self.audience.topics[0]
        body = {
            "business_id": self.business_id(0), "request_id": f"probe-{tag}", "platform": "x", "topic": topic.text,
            "topic_embedding": topic.embedding.tolist(), "scheduled_for": self.when.isoformat(),
        }  # fmt: skip
        pi = _ok(self.functions.post("generate_post", body))["probabilities"]
        table = self.rewards.reshape([len(d.values) for d in self.runtime.space.dimensions])
        for d in self.runtime.space.dimensions:
            table = np.tensordot(np.asarray([pi[d.name][v] for v in d.values]), table, axes=(0, 0))
        return Probe(pi, float(table))

    @property
    def gap(self) -> float:
        return float(self.rewards.max() - self.rewards.mean())


def fabricated(world: World) -> None:
    runtime, functions = world.runtime, world.functions
    mallory = uuid.uuid4()
    embedding = np.random.default_rng(66).normal(size=384)
    profile = Profile(
        business_id=mallory, name="Mallory", time_zone="UTC", embedding=embedding, follower_counts=FOLLOWERS
    )
    save_profiles(runtime.db, [profile])
    now = runtime.clock.now()
    posts = []
    for i in range(POSTS):
        vector = np.random.default_rng(i).normal(size=384).tolist()
        body = {"business_id": str(mallory), "request_id": f"m{i}", "platform": "x", "topic": "launch",
                "topic_embedding": vector, "auto_publish": True}  # fmt: skip
        answer = _ok(functions.post("generate_post", body))
        posts.append((answer["post_id"], answer["action"]["TONE"]))
    _advance(world, now + timedelta(hours=24, minutes=1))
    for post_id, tone in posts:
        likes = 10**12 if tone == "humorous" else 0
        body = {"type": "metrics", "post_id": post_id, "observed_at": runtime.clock.now().isoformat(),
                "likes": likes, "follower_count": 0}  # fmt: skip
        _ok(functions.post("record_snapshot", body))
    _advance(world, runtime.clock.now())


def honest(world: World) -> None:
    runtime, functions, audience = world.runtime, world.functions, world.audience
    business = audience.businesses[1]
    rng = np.random.default_rng(world.config.seed + 100)
    now = runtime.clock.now()
    bucket = time_bucket_of(local_time(now, business.time_zone).hour)
    posts = []
    for i in range(POSTS):
        topic = audience.topics[int(rng.integers(len(audience.topics)))]
        body = {"business_id": world.business_id(1), "request_id": f"h{i}", "platform": "x", "topic": topic.text,
                "topic_embedding": topic.embedding.tolist(), "auto_publish": True}  # fmt: skip
        answer = _ok(functions.post("generate_post", body))
        outcome = audience.draw(business, topic, "x", bucket, answer["action"], rng)
        posts.append((answer["post_id"], outcome))
    _advance(world, now + timedelta(hours=24, minutes=1))
    for post_id, outcome in posts:
        counters = audience.counters_at(outcome, "x", 24)
        body = {"type": "metrics", "post_id": post_id, "observed_at": runtime.clock.now().isoformat(),
                "follower_count": business.followers["x"], **counters}  # fmt: skip
        _ok(functions.post("record_snapshot", body))
    _advance(world, runtime.clock.now())


def _advance(world: World, when: datetime) -> None:
    clock = world.runtime.clock
    assert isinstance(clock, ManualClock)
    clock.set(when)
    LocalTaskRunner(world.runtime.db, world.functions.invoke).run_due(when)


@dataclass(frozen=True)
class Row:
    seed: int
    scenario: str
    moved: float  # the largest |Δπ| of any value
    earned: float  # ΔE[r] as a share of the gap between uniform and best


def measure(seed: int, scenario: str, traffic: Callable[[World], None]) -> Row:
    config = CampaignConfig(seed=seed, businesses=6, days=7)
    with tempfile.TemporaryDirectory(prefix="learner-tenants-") as tmp:
        settings = Settings(
            auth_mode="disabled", embedded_pg_dir=Path(tmp) / "pg", db_options="-c synchronous_commit=off"
        )
        runtime = build_runtime(settings, clock=ManualClock(config.start))
        use_runtime(runtime)
        try:
            functions = LocalFunctions()
            run_campaign(config, runtime, functions)
            world = World(runtime, functions, config)
            before = world.probe("before")
            traffic(world)
            after = world.probe("after")
        finally:
            use_runtime(None)
            runtime.close()
    moved = max(
        abs(after.probabilities[d][v] - p) for d, values in before.probabilities.items() for v, p in values.items()
    )
    return Row(seed, scenario, moved, (after.earned - before.earned) / world.gap)


def report(rows: list[Row]) -> str:
    lines = [
        "# One tenant against the shared policy (`make bench-tenants`)",
        "",
        "Generated by benchmarks/tenants.py; its docstring has the protocol. Six simulated",
        f"businesses post for a week; then {POSTS} posts on x from one business, fabricated or",
        "honest; business 0's next post on x is probed before and after. |Δπ| is the largest",
        "change of any value's probability; ΔE is the change of what its policy earns in",
        "expectation, as a share of the gap between uniform random and the best action.",
        "",
        "| seed | fabricated: max abs Δπ | fabricated: ΔE | honest: max abs Δπ | honest: ΔE |",
        "|---|---|---|---|---|",
    ]
    for seed in sorted({r.seed for r in rows}):
        f, h = (next(r for r in rows if r.seed == seed and r.scenario == s) for s in ("fabricated", "honest"))
        lines.append(f"| {seed} | {f.moved:.2f} | {f.earned:+.0%} | {h.moved:.2f} | {h.earned:+.0%} |")
    lines += ["", 'docs/reliability.md ("Tenants") reads these figures.', ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "tenants.md")
    args = parser.parse_args(argv)
    rows = []
    for seed in args.seeds:
        for scenario, traffic in (("fabricated", fabricated), ("honest", honest)):
            rows.append(measure(seed, scenario, traffic))
            print(rows[-1], flush=True)
    args.out.write_text(report(rows), encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
