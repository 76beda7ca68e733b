"""docs/spec.md §5–§7 as a stateful property: random sequences of creating, publishing, snapshots
(duplicated, out of order, late), clock moves, task deliveries (duplicated), sweeps and
crashes at fault points, checked against a model after every step.

The model keeps what the outside world did (which snapshots were delivered); it
predicts every final reward from the snapshots it holds when the reward became
final, and when a reward must be final. After every step: the whole-database
checks (no lost or double update: ledger ⇔ θ, baseline chain, reward ⇔ task),
snapshots = the model's, no reward final before it is due and each a pure
function of the snapshots in its window. At the end every published post is
computed or missing and every computed reward is applied.

Crashes run in process: the fault point raises (LEARNER_FAULT_ACTION=raise), which
unwinds the handler and rolls its transaction back as a dead process would
(tests/reliability/test_crashes.py kills real processes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from shared.clock import ManualClock
from shared.faults import ACTION_VARIABLE, POINT_VARIABLE, SimulatedCrash
from shared.tasks.local import LocalTaskRunner
from tests.reliability import scale
from tests.reliability.checks import violations
from tests.support.database import START, reset_state
from tests.support.functions import embedding, expected_reward, fetch_all

PLATFORMS = ("instagram", "x", "linkedin", "facebook")
BUSINESS = UUID("6d0de15e-0000-4000-8000-000000000001")
SLOTS = (6, 24, 48, 72, 168)
WINDOW, MAX_WAIT = 24, 48
FOLLOWERS = 8000
COUNTERS = {
    "instagram": ("likes", "comments", "shares", "saves"),
    "x": ("likes", "replies", "reposts"),
    "linkedin": ("likes", "comments", "shares"),
    "facebook": ("reactions", "comments", "shares"),
}
CRASH_POINTS = {
    "metrics": (
        "record_snapshot.after_snapshot",
        "settle.after_rewards",
        "settle.after_baseline",
        "settle.after_finalise",
    ),
    "compute": (
        "settle.after_rewards",
        "settle.after_baseline",
        "settle.after_finalise",
        "compute_reward.after_commit",
    ),
    "sweep": ("sweep.after_settle", "settle.after_rewards", "settle.after_finalise"),
    "update": ("update_policy.after_claim", "update_policy.after_apply", "update_policy.after_commit"),
    "tasks": ("settle.after_finalise", "update_policy.after_apply", "update_policy.after_commit"),
}


@dataclass
class PostModel:
    platform: str
    posted_at: datetime | None = None
    snapshots: dict[datetime, dict[str, int]] = field(default_factory=dict)  # first delivery of each time stands
    final: tuple[str, float | None] | None = None  # (status, value) predicted when the reward became final


def slot_of(posted_at: datetime, observed_at: datetime) -> int | None:
    hours = (observed_at - posted_at).total_seconds() / 3600
    fitting = [s for s in SLOTS if s <= hours]
    return max(fitting) if fitting else None


def predicted(post: PostModel) -> tuple[str, float | None]:
    """docs/spec.md §5 from the model's snapshots: the earliest observation of each slot in the window."""
    assert post.posted_at is not None
    slots: dict[int, tuple[datetime, dict[str, int]]] = {}
    for observed_at, counters in post.snapshots.items():
        slot = slot_of(post.posted_at, observed_at)
        if slot is not None and slot <= WINDOW and (slot not in slots or observed_at < slots[slot][0]):
            slots[slot] = (observed_at, counters)
    if not slots:
        return "missing", None
    return "computed", expected_reward(post.platform, {s: c for s, (_, c) in slots.items()}, FOLLOWERS)


def complete(post: PostModel) -> bool:
    assert post.posted_at is not None
    return any(slot_of(post.posted_at, t) == WINDOW for t in post.snapshots)


def run_model(runtime: Any, functions: Any, make_profile: Any) -> dict[str, int]:
    figures = {"steps": 0, "crashes": 0, "crashes_hit": 0, "examples": 0, "published": 0}

    class Learner(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            reset_state(runtime)
            self.clock = ManualClock(START)
            runtime.clock = self.clock
            # A fixed business id: post ids (and so every draw among sorted posts) repeat from run to run.
            self.business = make_profile(business_id=BUSINESS, follower_counts={p: FOLLOWERS for p in PLATFORMS})
            self.runner = LocalTaskRunner(runtime.db, functions.invoke)
            self.posts: dict[str, PostModel] = {}
            self.sent: list[dict[str, Any]] = []  # metrics bodies delivered, for duplicates
            self.rates: dict[str, int] = {}  # per post: how fast its counters grow (per hour)
            self.requests = 0
            figures["examples"] += 1

        # -- helpers ---------------------------------------------------------------------
        def now(self) -> datetime:
            return self.clock.now()

        def counters(self, post: str, platform: str, hours: float, rate: int) -> dict[str, int]:
            """Cumulative counters: a post's counts grow at one rate, the one its first report
            drew (a report that fell below an earlier one would be refused)."""
            likes = int(self.rates.setdefault(post, rate) * hours)
            return {name: likes // (i + 1) for i, name in enumerate(COUNTERS[platform])}

        def published(self) -> list[str]:
            return sorted(p for p, m in self.posts.items() if m.posted_at is not None)

        def observe_finals(self) -> None:
            """Rewards that became final in this step: the model predicts them from what it holds now."""
            for post_id, status, value in fetch_all(runtime, "select post_id::text, status, value from rewards"):
                model = self.posts[post_id]
                if status != "pending" and model.final is None:
                    model.final = predicted(model)
                    assert (status, model.final[0]) == (model.final[0], status)
                    if value is None:
                        assert model.final[1] is None
                    else:
                        assert model.final[1] is not None and abs(value - model.final[1]) < 1e-12, (value, model.final)

        def crash(self, point: str, call: Any) -> Any:
            os.environ[POINT_VARIABLE], os.environ[ACTION_VARIABLE] = point, "raise"
            figures["crashes"] += 1
            try:
                return call()
            except SimulatedCrash:
                figures["crashes_hit"] += 1
                return None
            finally:
                del os.environ[POINT_VARIABLE], os.environ[ACTION_VARIABLE]

        def metrics(self, body: dict[str, Any]) -> tuple[int, Any]:
            return functions.post("record_snapshot", body)  # type: ignore[no-any-return]

        def record_delivery(self, body: dict[str, Any], answer: Any) -> None:
            model = self.posts[body["post_id"]]
            observed_at = datetime.fromisoformat(body["observed_at"])
            new = observed_at not in model.snapshots
            assert answer["changed"] is new, (answer, body)
            assert answer["late"] is (model.final is not None), answer  # late: the reward was final already
            if new:
                model.snapshots[observed_at] = {k: v for k, v in body.items() if k in COUNTERS[model.platform]}
                self.sent.append(body)

        # -- rules -----------------------------------------------------------------------
        @initialize()
        def start(self) -> None:
            assert self.posts == {}

        @rule(platform=st.sampled_from(PLATFORMS), auto=st.booleans())
        def create(self, platform: str, auto: bool) -> None:
            self.requests += 1
            body = {
                "business_id": str(self.business),
                "request_id": f"m{self.requests}",
                "platform": platform,
                "topic": "model",
                "topic_embedding": embedding(self.requests),
                "auto_publish": auto,
            }
            status, answer = functions.post("generate_post", body)
            assert status == 201, answer
            self.posts[answer["post_id"]] = PostModel(platform, self.now() if auto else None)

        @precondition(lambda self: any(m.posted_at is None for m in self.posts.values()))
        @rule(data=st.data())
        def publish(self, data: st.DataObject) -> None:
            post = data.draw(st.sampled_from(sorted(p for p, m in self.posts.items() if m.posted_at is None)))
            body = {"type": "published", "post_id": post, "media_id": f"m-{post}", "posted_at": self.now().isoformat()}
            status, answer = functions.post("record_snapshot", body)
            assert (status, answer["changed"]) == (200, True), answer
            self.posts[post].posted_at = self.now()

        @precondition(lambda self: any(m.posted_at is not None for m in self.posts.values()))
        @rule(
            data=st.data(),
            hours=st.sampled_from([1, 5.9, 6, 7, 12, 23.9, 24, 25, 30, 47, 60]),
            rate=st.integers(0, 200),
        )
        def snapshot(self, data: st.DataObject, hours: float, rate: int) -> None:
            post = data.draw(st.sampled_from(self.published()))
            model = self.posts[post]
            assert model.posted_at is not None
            observed_at = model.posted_at + timedelta(hours=hours)
            if observed_at > self.now():
                self.clock.set(observed_at)  # it cannot be observed before it happens
            body = {
                "type": "metrics",
                "post_id": post,
                "observed_at": observed_at.isoformat(),
                "follower_count": FOLLOWERS,
            }
            body.update(self.counters(post, model.platform, hours, rate))
            status, answer = self.metrics(body)
            assert status == 200, answer
            self.record_delivery(body, answer)
            if model.final is None and answer["reward"] in ("computed", "missing"):
                self.observe_finals()
            if self.now() >= model.posted_at + timedelta(hours=WINDOW) and complete(model):
                assert answer["reward"] in ("computed", "final", None), answer
                self.observe_finals()
                assert model.final is not None, "a due, complete reward waits after its last snapshot arrived"

        @precondition(lambda self: bool(self.sent))
        @rule(data=st.data())
        def duplicate_snapshot(self, data: st.DataObject) -> None:
            body = data.draw(st.sampled_from(self.sent))
            status, answer = self.metrics(body)
            assert (status, answer["changed"]) == (200, False), answer

        @rule(hours=st.sampled_from([0.1, 1, 6, 12, 20, 30]))
        def advance(self, hours: float) -> None:
            self.clock.advance(timedelta(hours=hours))

        @rule()
        def deliver_tasks(self) -> None:
            self.runner.run_due(self.now())
            dead = fetch_all(runtime, "select task_name, last_error from outbox where status = 'dead'")
            assert dead == [], dead

        @precondition(lambda self: bool(self.published()))
        @rule(data=st.data())
        def duplicate_task(self, data: st.DataObject) -> None:
            """A task delivered again (at-least-once): whatever its state, 2xx and no second effect."""
            rows = fetch_all(runtime, "select target, payload from outbox order by task_name")
            if not rows:
                return
            target, payload = data.draw(st.sampled_from(rows))
            status = functions.invoke(target, payload)
            assert status == 200 or (target == "update_policy" and status == 409), (target, status)

        @rule()
        def sweep(self) -> None:
            status, report = functions.post("compute_reward", {"sweep": True})
            assert status == 200, report
            self.observe_finals()
            for model in self.posts.values():
                if model.posted_at is not None and self.now() >= model.posted_at + timedelta(hours=MAX_WAIT):
                    assert model.final is not None, "a sweep past the maximum wait leaves a reward pending"

        @precondition(lambda self: bool(self.published()))
        @rule(data=st.data())
        def crash_somewhere(self, data: st.DataObject) -> None:
            # Aim where a point is on the path: kinds with nothing to do now are not drawn (a
            # reward to apply, a reward that is due, a task that is due; metrics always apply).
            now = self.now().isoformat()
            due = f"select post_id::text from rewards where status = 'pending' and eligible_at <= '{now}'"
            aims = {
                "update": "select r.post_id::text from rewards r left join policy_updates u using (post_id)"
                " where r.value is not null and u.post_id is null",
                "compute": due,
                "sweep": due,
                "tasks": "select payload->>'post_id' from outbox where status = 'pending'"
                f" and schedule_time <= '{now}' and (lease_until is null or lease_until <= '{now}')",
            }
            candidates = {k: sorted(r[0] for r in fetch_all(runtime, q)) for k, q in aims.items()}
            kind = data.draw(st.sampled_from(["metrics", *(k for k in sorted(aims) if candidates[k])]))
            point = data.draw(st.sampled_from(CRASH_POINTS[kind]))
            post = data.draw(st.sampled_from(candidates.get(kind) or self.published()))
            model = self.posts[post]
            if kind == "metrics":
                assert model.posted_at is not None
                hours = data.draw(st.sampled_from([6, 24, 30]))
                observed_at = model.posted_at + timedelta(hours=hours)
                if observed_at > self.now():
                    self.clock.set(observed_at)
                body = {"type": "metrics", "post_id": post, "observed_at": observed_at.isoformat()}
                body.update(follower_count=FOLLOWERS, **self.counters(post, model.platform, hours, 13))
                result = self.crash(point, lambda: self.metrics(body))
                if result is not None:  # the point was not on this request's path: it went through
                    self.record_delivery(body, result[1])
            elif kind == "compute":
                self.crash(point, lambda: functions.post("compute_reward", {"post_id": post}))
            elif kind == "sweep":
                self.crash(point, lambda: functions.post("compute_reward", {"sweep": True}))
            elif kind == "update":
                self.crash(point, lambda: functions.post("update_policy", {"post_id": post}))
            else:
                self.crash(point, lambda: self.runner.run_due(self.now()))
            self.observe_finals()

        # -- invariants ------------------------------------------------------------------
        @invariant()
        def the_database_is_consistent(self) -> None:
            figures["steps"] += 1
            assert violations(runtime) == []

        @invariant()
        def snapshots_are_the_first_delivery_of_each_observation(self) -> None:
            rows = fetch_all(
                runtime, "select post_id::text, observed_at, likes, comments, replies, reactions from snapshots"
            )
            stored = {
                (p, t): (likes, comments, replies, reactions) for p, t, likes, comments, replies, reactions in rows
            }
            expected = {
                (p, t): tuple(c.get(k, 0) for k in ("likes", "comments", "replies", "reactions"))
                for p, m in self.posts.items()
                for t, c in m.snapshots.items()
            }
            assert stored == expected

        @invariant()
        def rewards_are_final_only_when_due_and_as_predicted(self) -> None:
            self.observe_finals()
            for post_id, status, eligible_at, computed_at in fetch_all(
                runtime, "select post_id::text, status, eligible_at, computed_at from rewards"
            ):
                model = self.posts[post_id]
                assert model.posted_at is not None
                assert eligible_at == model.posted_at + timedelta(hours=WINDOW)
                if status != "pending":
                    assert computed_at >= eligible_at

        def teardown(self) -> None:
            """Drain: past every maximum wait, sweep and deliver until nothing is due."""
            self.clock.advance(timedelta(hours=MAX_WAIT + 1))
            self.clock.advance(timedelta(minutes=10))  # past any lease a crashed delivery left
            assert functions.post("compute_reward", {"sweep": True})[0] == 200
            self.runner.run_due(self.now())
            self.observe_finals()
            figures["published"] += len(self.published())
            for post_id in self.published():
                assert self.posts[post_id].final is not None, post_id
            unapplied = fetch_all(
                runtime,
                "select r.post_id from rewards r left join policy_updates u using (post_id)"
                " where r.value is not null and u.post_id is null",
            )
            assert unapplied == [], "a computed reward was never learned from"
            assert violations(runtime) == []

    run_state_machine_as_test(
        Learner,
        settings=settings(
            max_examples=scale.MODEL_EXAMPLES,
            stateful_step_count=scale.MODEL_STEPS,
            # Deterministic: the same histories every run (a seed derived from the test), no
            # deadline (a step's time depends on the machine's load, not on the product), no
            # example database (a failure prints the steps that reproduce it).
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            database=None,
        ),
    )
    return figures


def test_random_histories_of_posts_snapshots_tasks_sweeps_and_crashes_match_the_model(runtime, functions, make_profile):
    figures = run_model(runtime, functions, make_profile)
    assert figures["examples"] >= scale.MODEL_EXAMPLES and figures["crashes_hit"] > 0, figures
    scale.record("model.stateful", violations=0, **figures)
