"""A simulated campaign through the real functions and the real database.

Businesses post on every platform once a day at a random local hour (or, with
``schedule="best_time"`` after the warm-up, as a draft the product schedules at the
business's best time, which the business then publishes on time); the
simulated audience answers with snapshots at 6, 24 and 48 hours (and the
odd deletion); the local task runner delivers the reward and update tasks
when they fall due on the manual clock. Every step goes through the four
HTTP functions, exactly as in production.
"""

from __future__ import annotations

import heapq
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any

import numpy as np

from shared.bootstrap import Runtime, build_runtime, use_runtime
from shared.clock import ManualClock
from shared.config import Settings
from shared.core.context import PLATFORMS, local_time, time_bucket_of
from shared.core.profile import Profile
from shared.core.variety import VarietyCap
from shared.services.profiles import save_profiles
from shared.tasks.local import LocalTaskRunner
from simulation.audience import Audience, AudienceParams, Business, Topic
from simulation.local_functions import LocalFunctions

SNAPSHOT_HOURS = (6, 24, 48)
POST_HOURS = tuple(range(6, 24))  # local hours at which businesses post


@dataclass(frozen=True)
class CampaignConfig:
    seed: int = 7
    businesses: int = 12
    days: int = 84
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC)
    # 'own': the business picks its hour; 'best_time': after warmup_days it leaves the time to
    # the product (docs/best-time.md). The audience's parameters (None: the default world).
    schedule: str = "own"
    warmup_days: int = 14
    audience: AudienceParams | None = None
    variety: VarietyCap = field(default_factory=VarietyCap)  # each business's cap on repeats (docs/variety.md)


@dataclass
class PostRecord:
    day: int
    post_id: str
    platform: str
    time_bucket: str
    expected: float  # E[r] of the chosen action
    uniform: float  # E[r] of a uniformly random action
    best: float  # E[r] of the best action in this context
    reward: float | None = None  # the realised reward, once computed
    status: str = "pending"
    business: int = 0  # the audience's business, topic (its position) and joint action
    topic: int = 0
    action: int = 0


@dataclass
class CampaignResult:
    config: CampaignConfig
    posts: list[PostRecord] = field(default_factory=list)
    policy_version: int = 0


class _Events:
    """A time-ordered queue of callbacks; ties run in insertion order."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Callable[[], None]]] = []
        self._seq = count()

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), action))

    def pop(self) -> tuple[datetime, Callable[[], None]] | None:
        if not self._heap:
            return None
        when, _, action = heapq.heappop(self._heap)
        return when, action


def _profile(b: Business, business_id: uuid.UUID, variety: VarietyCap) -> Profile:
    return Profile(
        business_id=business_id,
        name=b.name,
        business_types=b.business_types,
        industries=b.industries,
        description=f"{b.name} serves customers in {b.industries[0].lower()}.",
        time_zone=b.time_zone,
        embedding=b.embedding,
        follower_counts=dict(b.followers),
        variety=variety,
    )


def _check(status: int, body: Any, what: str) -> Any:
    if not 200 <= status < 300:
        raise RuntimeError(f"{what} answered {status}: {body}")
    return body


def audience_of(config: CampaignConfig, runtime: Runtime) -> Audience:
    """The simulated audience a campaign of ``config`` answers with (the same every time)."""
    return Audience(
        runtime.space,
        config.seed,
        n_businesses=config.businesses,
        params=config.audience,
        reward_config=runtime.reward_config,
    )


def run_on_a_throwaway_database(
    config: CampaignConfig, *, dashboard_every_hours: float
) -> tuple[CampaignResult, Audience]:
    """The campaign on a fresh embedded database, thrown away after (the benchmarks' runs)."""
    with tempfile.TemporaryDirectory(prefix="learner-campaign-") as tmp:
        settings = Settings(
            auth_mode="disabled",
            embedded_pg_dir=Path(tmp) / "pg",
            db_options="-c synchronous_commit=off",
            dashboard_every_hours=dashboard_every_hours,
        )
        runtime = build_runtime(settings, clock=ManualClock(config.start))
        use_runtime(runtime)
        try:
            return run_campaign(config, runtime, LocalFunctions()), audience_of(config, runtime)
        finally:
            use_runtime(None)
            runtime.close()


def run_campaign(
    config: CampaignConfig,
    runtime: Runtime,
    functions: LocalFunctions,
    *,
    on_day: Callable[[int], None] | None = None,
) -> CampaignResult:
    """Run the campaign; ``runtime`` must use a ManualClock at or before ``config.start``."""
    clock = runtime.clock
    if not isinstance(clock, ManualClock):
        raise TypeError("a campaign needs a ManualClock")
    audience = audience_of(config, runtime)
    rng = np.random.default_rng(config.seed + 1)
    runner = LocalTaskRunner(runtime.db, functions.invoke)
    ids = {b.index: uuid.uuid5(uuid.NAMESPACE_URL, f"sim/{config.seed}/{b.index}") for b in audience.businesses}
    save_profiles(runtime.db, [_profile(b, ids[b.index], config.variety) for b in audience.businesses])

    result = CampaignResult(config)
    events = _Events()

    def deliver(payload: dict[str, Any]) -> None:
        _check(*functions.post("record_snapshot", payload), "record_snapshot")

    def generate(day: int, b: Business, platform: str, topic: Topic, when: datetime | None) -> Any:
        """Published now at ``when``; or, without it, a draft the product schedules."""
        request = {
            "business_id": str(ids[b.index]),
            "request_id": f"d{day}-{platform}",
            "platform": platform,
            "topic": topic.text,
            "topic_embedding": topic.embedding.tolist(),
            "auto_publish": when is not None,
        }
        if when is not None:
            request["scheduled_for"] = when.isoformat()
        return _check(*functions.post("generate_post", request), "generate_post")

    def post(day: int, b: Business, platform: str, when: datetime, topic: Topic) -> None:
        live(day, b, platform, when, topic, generate(day, b, platform, topic, when))

    def plan(day: int, b: Business, platform: str, topic: Topic) -> None:
        body = generate(day, b, platform, topic, None)
        when = datetime.fromisoformat(body["scheduled_for"])

        def publish() -> None:
            published = {"type": "published", "post_id": body["post_id"], "media_id": f"m-{body['post_id']}"}
            deliver(published | {"posted_at": when.isoformat()})
            live(day, b, platform, when, topic, body)

        events.at(when, publish)

    def live(day: int, b: Business, platform: str, when: datetime, topic: Topic, body: Any) -> None:
        tb = time_bucket_of(local_time(when, b.time_zone).hour)
        expected = audience.expected_rewards(b, topic, platform, tb)
        action = audience.action_index(body["action"])
        record = PostRecord(
            day=day,
            post_id=body["post_id"],
            platform=platform,
            time_bucket=tb,
            expected=float(expected[action]),
            uniform=float(expected.mean()),
            best=float(expected.max()),
            business=b.index,
            topic=audience.topics.index(topic),
            action=action,
        )
        result.posts.append(record)
        outcome = audience.draw(b, topic, platform, tb, body["action"], rng)
        for hours in SNAPSHOT_HOURS:
            if outcome.deleted_after_hours is not None and hours > outcome.deleted_after_hours:
                break  # a deleted post has no counters to read
            observed = when + timedelta(hours=hours)
            counters = audience.counters_at(outcome, platform, hours)
            payload = {
                "type": "metrics",
                "post_id": record.post_id,
                "observed_at": observed.isoformat(),
                "follower_count": b.followers[platform],
                **counters,
            }
            events.at(observed, partial(deliver, payload))
        if outcome.deleted_after_hours is not None:
            deleted_at = when + timedelta(hours=outcome.deleted_after_hours)
            payload = {"type": "deleted", "post_id": record.post_id, "deleted_at": deleted_at.isoformat()}
            events.at(deleted_at, partial(deliver, payload))

    for day in range(config.days):
        for b in audience.businesses:
            for platform in PLATFORMS:
                midnight = config.start + timedelta(days=day)
                local_hour = int(rng.choice(POST_HOURS))
                local_midnight = local_time(midnight, b.time_zone).replace(hour=0, minute=0)
                when = (local_midnight + timedelta(hours=local_hour, minutes=int(rng.integers(60)))).astimezone(UTC)
                when = max(when, config.start)
                topic = audience.topics[int(rng.integers(len(audience.topics)))]
                if config.schedule == "best_time" and day >= config.warmup_days:
                    # Planned just after local midnight: every slot of the day is still ahead.
                    planned = max((local_midnight + timedelta(minutes=30)).astimezone(UTC), config.start)
                    events.at(planned, partial(plan, day, b, platform, topic))
                else:
                    events.at(when, partial(post, day, b, platform, when, topic))

    def sweep() -> None:
        _check(*functions.post("compute_reward", {"sweep": True}), "sweep")

    # The scheduled sweep, daily here (every 15 minutes in production): it catches what a lost
    # delivery left behind (nothing, here) and fits the context normaliser once enough decisions
    # exist (POLICY_NORMALISER_FIT_AFTER), as a deployment does.
    for day in range(1, config.days):
        events.at(config.start + timedelta(days=day), sweep)

    last_day = -1
    while (item := events.pop()) is not None:
        when, action = item
        if when > clock.now():
            clock.set(when)
            runner.run_due(when)  # tasks due by now go first, as Cloud Tasks would
        action()
        day = (when - config.start).days
        if on_day is not None and day > last_day:
            last_day = day
            on_day(day)

    # Let every reward reach its final state: past the maximum wait, then a sweep.
    end = clock.now() + timedelta(hours=runtime.reward_config.max_wait_hours + 1)
    clock.set(end)
    runner.run_due(end)
    _check(*functions.post("compute_reward", {"sweep": True}), "sweep")
    runner.run_due(end)

    with runtime.db.transaction() as conn:
        rows = conn.execute("select post_id::text, status, value from rewards").fetchall()
        version = conn.execute("select version from policy_state").fetchone()
    by_id = {r[0]: (r[1], r[2]) for r in rows}
    for record in result.posts:
        record.status, record.reward = by_id.get(record.post_id, ("unpublished", None))
    result.policy_version = int(version[0]) if version else 0
    return result
