"""The learning benchmark's world: the simulated audience, a posting schedule,
and rewards that arrive a day late, in batches, as in production.

Pure numpy and fast: no database and no HTTP (``make demo`` runs the real
functions; this runs the same math thousands of times faster). Every learner
of a run sees the same posts, contexts and noise draws (common random
numbers), so differences between learners are not differences of luck.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np

from benchmarks.worlds import GRADUAL_WEEKS, WORLDS, SuiteAudience
from shared.core.action_space import ActionSpace
from shared.core.context import PLATFORMS, TIME_BUCKETS, FloatArray, context_vector, time_bucket_of
from simulation.audience import Audience, AudienceParams

POST_HOURS: Final = tuple(range(6, 24))  # local posting hours, as in simulation/campaign.py
REWARD_DELAY_HOURS: Final = 24.0  # the reward window (docs/spec.md §5)
BATCH_HOURS: Final = 6.0  # rewards due in a 6 h window are learned from together


@dataclass(frozen=True)
class WorldConfig:
    seed: int
    days: int = 168
    businesses: int = 12
    drift_day: int | None = None  # from this day on the audience's tastes are redrawn (or start to move)
    world: str | None = None  # a world of benchmarks/worlds.py; None: the demo's audience
    schedule_seed: int | None = None  # posts, topics and noise; None: the audience's seed
    # Monte Carlo draws behind each exact expectation: the same draws serve every
    # context, so their error is shared; off-policy coverage needs it well below
    # its interval widths.
    truth_draws: int = AudienceParams().monte_carlo_draws

    def __post_init__(self) -> None:
        if self.days < 1 or self.businesses < 1:
            raise ValueError("days and businesses must be >= 1")
        if self.drift_day is not None and not 0 < self.drift_day < self.days:
            raise ValueError("drift_day must fall inside the run")


@dataclass(frozen=True)
class Post:
    """One post to decide: where, when, for whom, and its noise draws."""

    index: int
    hour: float  # hours since the start of the run
    day: int
    business: int
    topic: int
    platform: int  # index into PLATFORMS
    time_bucket: int  # index into TIME_BUCKETS
    x: FloatArray  # (768,) = concat(unit(business), unit(topic)), as the product builds it
    z: float  # standardised noise of the log engagement rate
    u: float  # deletion draw

    @property
    def due(self) -> float:
        return self.hour + REWARD_DELAY_HOURS


@dataclass
class World:
    config: WorldConfig
    space: ActionSpace
    audience: Audience
    phases: list[Audience]  # the audience in each phase: [before] or [before, …, after the drift]
    posts: list[Post]
    cache: dict[tuple[int, int, int, int, int], FloatArray] = field(default_factory=dict)  # E[r] per context

    def phase(self, post: Post) -> int:
        """0 before the drift; then 1 (abrupt), or 1, 2, … a week each until the last phase (gradual)."""
        d = self.config.drift_day
        if d is None or post.day < d:
            return 0
        return min(len(self.phases) - 1, 1 + (post.day - d) // 7)

    def changed_day(self) -> int | None:
        """The first day of the last phase (the tastes have finished changing); None without a drift."""
        d = self.config.drift_day
        return None if d is None else d + 7 * (len(self.phases) - 2)

    def _audience(self, post: Post) -> Audience:
        return self.phases[self.phase(post)]

    def expected(self, post: Post) -> FloatArray:
        """E[r | context, a] for every joint action, shape (n_actions,), cached per context."""
        key = (post.business, post.topic, post.platform, post.time_bucket, self.phase(post))
        found = self.cache.get(key)
        if found is None:
            a = self._audience(post)
            found = a.expected_rewards(
                a.businesses[post.business],
                a.topics[post.topic],
                PLATFORMS[post.platform],
                TIME_BUCKETS[post.time_bucket],
            )
            self.cache[key] = found
        return found

    def reward(self, post: Post, action: int) -> float:
        """The realised reward of joint action ``action`` (row-major index) for this post."""
        a = self._audience(post)
        rewards = a.rewards_for(
            a.businesses[post.business],
            a.topics[post.topic],
            PLATFORMS[post.platform],
            TIME_BUCKETS[post.time_bucket],
            post.z,
            post.u,
        )
        return float(rewards[action])

    def joint_index(self, action: tuple[int, ...]) -> int:
        pos = 0
        for dim, i in zip(self.space.dimensions, action, strict=True):
            pos = pos * len(dim.values) + i
        return pos


ExpectedCache = dict[tuple[int, int, int, int, int], FloatArray]


def build_world(config: WorldConfig, space: ActionSpace, cache: ExpectedCache | None = None) -> World:
    """Each business posts once a day on every platform at a random local hour
    about a random topic (the schedule of ``make demo``). ``cache`` may be shared
    by worlds of the same audience (same seed, businesses and drift)."""
    spec = None if config.world is None else WORLDS[config.world]
    audience: Audience
    if spec is None:
        audience = Audience(
            space,
            config.seed,
            n_businesses=config.businesses,
            params=AudienceParams(monte_carlo_draws=config.truth_draws),
        )
    else:
        audience = SuiteAudience(
            space, config.seed, replace(spec, businesses=config.businesses), truth_draws=config.truth_draws
        )
    phases = [audience]
    if config.drift_day is not None:
        drifted = audience.drifted(config.seed + 10_000)
        if spec is not None and spec.drift == "gradual":
            assert isinstance(audience, SuiteAudience) and isinstance(drifted, SuiteAudience)
            phases += [audience.blended(drifted, w / GRADUAL_WEEKS) for w in range(1, GRADUAL_WEEKS)]
        phases.append(drifted)
    share = (1.0,) * len(PLATFORMS) if spec is None else spec.platform_share
    rng = np.random.default_rng([config.seed if config.schedule_seed is None else config.schedule_seed, 1])
    xs = {
        (b.index, t.index): context_vector(b.embedding, t.embedding)[0]
        for b in audience.businesses
        for t in audience.topics
    }
    raw = []
    for day in range(config.days):
        for b in audience.businesses:
            for p in range(len(PLATFORMS)):
                if share[p] < 1.0 and rng.random() >= share[p]:
                    continue
                hour = int(rng.choice(POST_HOURS))
                minute = int(rng.integers(60))
                topic = audience.topics[int(rng.integers(len(audience.topics)))]
                if isinstance(audience, SuiteAudience):
                    z = float(audience.noise(rng, 1)[0])
                else:
                    z = float(rng.standard_t(5) / np.sqrt(5 / 3))
                raw.append((day * 24 + hour + minute / 60, day, b.index, topic.index, p, hour, z, float(rng.random())))
    raw.sort()
    topic_pos = {t.index: i for i, t in enumerate(audience.topics)}
    posts = [
        Post(
            index=i,
            hour=when,
            day=day,
            business=b,
            topic=topic_pos[t],
            platform=p,
            time_bucket=TIME_BUCKETS.index(time_bucket_of(hour)),
            x=xs[(b, t)],
            z=z,
            u=u,
        )
        for i, (when, day, b, t, p, hour, z, u) in enumerate(raw)
    ]
    world = World(config=config, space=space, audience=audience, phases=phases, posts=posts)
    if cache is not None:
        world.cache = cache
    return world
