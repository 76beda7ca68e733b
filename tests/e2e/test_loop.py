"""The whole loop through the four HTTP functions, with the local task runner
playing Cloud Tasks and the compute_reward sweep playing Cloud Scheduler, on a
manual clock: generate → publish → snapshots → reward → policy update.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from shared.tasks.local import LocalTaskRunner
from tests.support.database import START, table_counts
from tests.support.functions import (
    at,
    compute,
    decision_of,
    embedding,
    expected_step,
    fetch_all,
    generate,
    metrics,
    policy_version,
    preferences,
    publish,
    state_digest,
    thetas,
)

PLATFORMS = ("instagram", "x", "linkedin", "facebook")
COUNTER = {"instagram": "saves", "x": "replies", "linkedin": "comments", "facebook": "comments"}


@dataclass
class Planned:
    """One post of the campaign: how it is published and which snapshots it gets."""

    business: str
    platform: str
    request_id: str
    how: str  # "auto" (auto_publish), "event" (a published event) or "draft" (never published)
    slots: tuple[float, ...]  # hours after posting at which a snapshot is observed
    deleted_after: float | None = None
    post_id: str = ""
    posted_at: datetime | None = None
    sent: set[float] = field(default_factory=set)
    deletion_sent: bool = False

    @property
    def expect(self) -> str | None:
        if self.how == "draft":
            return None
        return "computed" if any(s >= 6 for s in self.slots) else "missing"


def _campaign(businesses: list[Any], offset: int) -> list[Planned]:
    """Three businesses × four platforms, with every publishing path and snapshot pattern."""
    patterns = [
        ("auto", (6, 24, 48), None),
        ("event", (6, 24, 48), None),
        ("auto", (6,), None),  # the sweep finalises it at 48 h from the 6 h snapshot
        ("event", (), None),  # no snapshot: missing at 48 h
        ("auto", (6, 23.9), None),  # the 24 h slot arrives early (given slot): the Cloud Task computes it
        ("event", (6,), 12.0),  # deleted before the reward is final (nothing observed after): penalty
    ]
    plan = []
    for i, business in enumerate(businesses):
        for j, platform in enumerate(PLATFORMS):
            how, slots, deleted = patterns[(offset + i * len(PLATFORMS) + j) % len(patterns)]
            plan.append(Planned(str(business), platform, f"c{offset}-{i}-{j}", how, slots, deleted))
    plan.append(Planned(str(businesses[0]), "x", f"c{offset}-draft", "draft", ()))
    return plan


class Loop:
    def __init__(self, runtime, functions, clock) -> None:
        self.rt, self.functions, self.clock = runtime, functions, clock
        self.runner = LocalTaskRunner(runtime.db, functions.invoke)
        self.posts: list[Planned] = []

    def launch(self, plan: list[Planned]) -> None:
        now = self.clock.now()
        for p in plan:
            extra = {"topic_embedding": embedding(zlib.crc32(p.request_id.encode())), "auto_publish": p.how == "auto"}
            answer = generate(self.functions, p.business, p.request_id, p.platform, **extra)
            assert answer["policy_version"] == policy_version(self.rt)
            p.post_id = answer["post_id"]
            p.posted_at = now if p.how == "auto" else None
        self.clock.advance(timedelta(minutes=10))
        for p in plan:
            if p.how == "event":
                p.posted_at = now + timedelta(minutes=5)
                publish(self.functions, p.post_id, p.posted_at)
        self.posts.extend(plan)

    def step_to(self, when: datetime, sweep: bool = False) -> None:
        """Move the clock, deliver every snapshot and deletion now due, run the due tasks."""
        self.clock.set(when)
        for p in self.posts:
            if p.posted_at is None:
                continue
            for hours in p.slots:
                observed = p.posted_at + timedelta(hours=hours)
                if hours not in p.sent and observed <= when:
                    p.sent.add(hours)
                    slot = {"timeslot_hours": 24} if hours == 23.9 else {}
                    value = 1 + int(hours * (1 + len(p.request_id) % 5))
                    metrics(
                        self.functions, p.post_id, observed, likes=10 * value, **{COUNTER[p.platform]: value}, **slot
                    )
            if p.deleted_after is not None and not p.deletion_sent:
                deleted_at = p.posted_at + timedelta(hours=p.deleted_after)
                if deleted_at <= when:
                    p.deletion_sent = True
                    body = {"type": "deleted", "post_id": p.post_id, "deleted_at": deleted_at.isoformat()}
                    assert self.functions.post("record_snapshot", body)[0] == 200
        self.runner.run_due(when)
        if sweep:
            compute(self.functions, {"sweep": True})
            self.runner.run_due(when)

    def run_days(self, start: datetime) -> None:
        for hours in (6, 6.5, 12.5, 23.95, 24, 24.2, 30, 47.5, 48, 48.2, 49):
            self.step_to(start + timedelta(hours=hours), sweep=hours >= 47.5)


def _rewards(rt) -> dict[str, tuple[Any, ...]]:
    rows = fetch_all(rt, "select post_id, status, value, baseline_before, baseline_after, components from rewards")
    return {str(r[0]): r[1:] for r in rows}


def test_the_whole_loop_learns_exactly_once_from_every_computed_reward(runtime, functions, make_profile, clock):
    zones = ("UTC", "America/New_York", "Asia/Tokyo")
    businesses = [make_profile(seed=i, time_zone=tz) for i, tz in enumerate(zones)]
    loop = Loop(runtime, functions, clock)
    loop.launch(_campaign(businesses, offset=0))
    loop.run_days(START)
    version_after_round_one = policy_version(runtime)
    assert version_after_round_one > 0
    loop.launch(_campaign(businesses, offset=1))  # the second round is chosen by the updated policy
    loop.run_days(clock.now())
    loop.step_to(clock.now() + timedelta(days=3), sweep=True)

    rewards = _rewards(runtime)
    published = [p for p in loop.posts if p.how != "draft"]
    assert set(rewards) == {p.post_id for p in published}
    for p in published:
        assert rewards[p.post_id][0] == p.expect, (p.request_id, p.slots)
        if p.deleted_after is not None:
            assert rewards[p.post_id][4]["penalty"] > 0
    computed = [p for p in published if p.expect == "computed"]
    assert any(p.expect == "missing" for p in published)

    ledger = fetch_all(runtime, "select post_id::text, version_after from policy_updates order by version_after")
    assert sorted(r[0] for r in ledger) == sorted(p.post_id for p in computed)
    assert [r[1] for r in ledger] == list(range(1, len(computed) + 1))
    assert policy_version(runtime) == len(ledger) > version_after_round_one

    outbox = fetch_all(runtime, "select task_name, status from outbox")
    assert {status for _, status in outbox} == {"done"}
    assert sorted(n for n, _ in outbox) == sorted(
        [f"compute_reward-{p.post_id}" for p in published] + [f"update_policy-{p.post_id}" for p in computed]
    )

    # Baselines: n counts the folded rewards, and the folds chain b ← b + 0.1 (r − b) with none lost.
    for platform in PLATFORMS:
        folded = [rewards[p.post_id] for p in computed if p.platform == platform]
        b, n = fetch_all(runtime, "select b, n from policy_baselines where platform = %s", platform)[0]
        assert n == len(folded)
        current = 0.0
        for _ in folded:
            (row,) = [r for r in folded if r[2] == current]
            assert row[3] == pytest.approx(current + 0.1 * (row[1] - current))
            current = row[3]
        assert b == current

    # H and θ are the sum of every post's step: no update lost, none applied twice.
    theta = thetas(runtime)
    steps = {p.post_id: expected_step(runtime, p.post_id) for p in computed}
    for key, value in theta.items():
        assert np.allclose(value, sum(step[1][key] for step in steps.values()), atol=1e-12), key
    by_cell: dict[tuple[str, str], list[str]] = {}
    for p in computed:
        d = decision_of(runtime, p.post_id)
        by_cell.setdefault((d["platform"], d["time_bucket"]), []).append(p.post_id)
    for (platform, bucket), ids in by_cell.items():
        h = preferences(runtime, platform, bucket)
        for key, h_value in h.items():
            assert h_value == pytest.approx(sum(steps[i][0][key] for i in ids), abs=1e-12)
    assert len(by_cell) > 1

    drafts = [p.post_id for p in loop.posts if p.how == "draft"]
    assert fetch_all(runtime, "select status from posts where post_id::text = any(%s)", drafts) == [
        ("generated",)
    ] * len(drafts)


def test_a_redelivered_task_changes_nothing(runtime, functions, make_profile, clock):
    bid = make_profile()
    loop = Loop(runtime, functions, clock)
    loop.launch([Planned(str(bid), "linkedin", "one", "auto", (6, 24)), Planned(str(bid), "x", "two", "auto", (6,))])
    loop.run_days(START)
    assert table_counts(runtime)["policy_updates"] == 2
    for task in ("compute_reward", "update_policy"):
        digest = state_digest(runtime)
        with runtime.db.transaction() as conn:
            names = conn.execute(
                "update outbox set status = 'pending', lease_until = null where target = %s returning task_name",
                (task,),
            ).fetchall()
        assert len(names) == 2
        clock.advance(timedelta(hours=1))
        assert loop.runner.run_due(clock.now()) == 2
        after = state_digest(runtime)
        assert {k: v for k, v in after.items() if k != "outbox"} == {k: v for k, v in digest.items() if k != "outbox"}
        statuses = fetch_all(runtime, "select status, attempts from outbox where target = %s", task)
        assert statuses == [("done", 2), ("done", 2)]
    assert policy_version(runtime) == 2


def test_the_reward_task_computes_a_reward_whose_window_filled_before_it_was_due(
    runtime, functions, make_profile, clock
):
    bid = make_profile()
    loop = Loop(runtime, functions, clock)
    loop.launch([Planned(str(bid), "facebook", "early", "auto", (6, 23.9))])
    loop.step_to(at(23.95))
    assert fetch_all(runtime, "select status from rewards") == [("pending",)]
    loop.step_to(at(24))  # the Cloud Task's schedule time: eligible_at
    assert fetch_all(runtime, "select status from rewards") == [("computed",)]
    assert fetch_all(runtime, "select target, status from outbox order by target") == [
        ("compute_reward", "done"),
        ("update_policy", "done"),
    ]
    assert policy_version(runtime) == 1
