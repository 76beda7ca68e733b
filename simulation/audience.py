"""A simulated audience: ground-truth engagement for every context and action.

Pure numpy. It knows the expected reward of every joint action in every
context, so a run can be scored against uniform random and the best possible.

The model, per post (business k, topic j, platform p, local time bucket tb):

    log rate = base[p] + Σ_d effect_d(a_d) + σ z,   z ~ Student-t(5) / sd
    effect_d(v) = g[d,v] + P[p,d,v] + T[p,tb,d,v] + B[cluster(k),d,v] + Q[cluster(j),d,v]
    interactions = followers[k,p] · exp(log rate)

Interactions split into the platform's counters with fixed shares and grow
over time as 1 − exp(−t / τ_p) (X fast, LinkedIn slow). Posts that do badly
are sometimes deleted a few hours in. Business and topic embeddings share a
dominant direction, as sentence embeddings do (high cosine between unrelated
texts), plus a cluster centroid and individual noise.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from shared.core.action_space import ActionSpace
from shared.core.context import EMBEDDING_DIM, PLATFORMS, TIME_BUCKETS, FloatArray
from shared.core.reward import RewardConfig, deletion_penalty, normalised_engagement

IntArray = npt.NDArray[np.int64]

BUSINESS_KINDS: Final = (
    ("Technology", "B2B", "Software"),
    ("Food & Beverage", "Restaurant", "Hospitality"),
    ("Finance", "Accounting", "Financial services"),
    ("Fitness", "Gym", "Health & Wellness"),
    ("Fashion", "Retail", "Apparel"),
    ("Home services", "Local business", "Construction"),
)
TOPIC_KINDS: Final = (
    ("product launch", "new feature", "behind the build"),
    ("customer story", "case study", "testimonial"),
    ("how-to tips", "quick guide", "common mistakes"),
    ("industry news", "market trend", "new regulation"),
    ("team culture", "hiring", "meet the founder"),
)
TIME_ZONES: Final = ("UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles")

# Engagement per follower, counter shares, and how fast engagement accrues (hours).
BASE_RATE: Final = {"instagram": 0.03, "x": 0.01, "linkedin": 0.02, "facebook": 0.015}
SHARES: Final = {
    "instagram": {"likes": 0.82, "comments": 0.06, "shares": 0.05, "saves": 0.07},
    "x": {"likes": 0.80, "replies": 0.08, "reposts": 0.12},
    "linkedin": {"likes": 0.85, "comments": 0.09, "shares": 0.06},
    "facebook": {"reactions": 0.85, "comments": 0.09, "shares": 0.06},
}
ACCRUAL_HOURS: Final = {"instagram": 10.0, "x": 4.0, "linkedin": 20.0, "facebook": 12.0}
NOISE_DOF: Final = 5
DELETE_BELOW: Final = -1.2  # posts whose log rate falls this far below the context mean
DELETE_PROB: Final = 0.5  # ... are deleted with this probability
DELETE_AFTER_HOURS: Final = 10.0


@dataclass(frozen=True)
class AudienceParams:
    noise_sd: float = 0.6
    global_sd: float = 0.15
    platform_sd: float = 0.15
    time_sd: float = 0.08
    # When an audience reads: a main effect of the local time bucket on the log rate, half shared
    # by every business on a platform, half each business's own. 0 in the learning worlds; the
    # best-time worlds set it (benchmarks/best_time.py, docs/best-time.md).
    time_main_sd: float = 0.0
    business_sd: float = 0.18
    topic_sd: float = 0.10
    shared_direction: float = 1.5  # weight of the direction all embeddings share
    individual_noise: float = 0.35
    monte_carlo_draws: int = 256


@dataclass(frozen=True)
class Business:
    index: int
    kind: int
    name: str
    business_types: tuple[str, ...]
    industries: tuple[str, ...]
    time_zone: str
    embedding: FloatArray  # (384,)
    followers: dict[str, int]


@dataclass(frozen=True)
class Topic:
    index: int
    kind: int
    text: str
    embedding: FloatArray  # (384,)


@dataclass(frozen=True)
class Outcome:
    """A post's realised engagement: total interactions and an optional deletion time."""

    interactions: float
    deleted_after_hours: float | None


def _unit(v: FloatArray) -> FloatArray:
    out: FloatArray = v / np.linalg.norm(v)
    return out


class Audience:
    def __init__(
        self,
        space: ActionSpace,
        seed: int,
        *,
        n_businesses: int = 12,
        params: AudienceParams | None = None,
        reward_config: RewardConfig | None = None,
    ) -> None:
        self.space = space
        self.params = params or AudienceParams()
        self.reward_config = reward_config or RewardConfig()
        rng = np.random.default_rng(seed)
        p = self.params
        shared = _unit(rng.normal(size=EMBEDDING_DIM))
        b_centroids = [_unit(rng.normal(size=EMBEDDING_DIM)) for _ in BUSINESS_KINDS]
        t_centroids = [_unit(rng.normal(size=EMBEDDING_DIM)) for _ in TOPIC_KINDS]

        def embed(centroid: FloatArray) -> FloatArray:
            noise = rng.normal(size=EMBEDDING_DIM) / math.sqrt(EMBEDDING_DIM)
            return _unit(p.shared_direction * shared + centroid + p.individual_noise * noise * math.sqrt(3))

        self.businesses: list[Business] = []
        for i in range(n_businesses):
            kind = i % len(BUSINESS_KINDS)
            names = BUSINESS_KINDS[kind]
            self.businesses.append(
                Business(
                    index=i,
                    kind=kind,
                    name=f"{names[0]} Co. {i + 1}",
                    business_types=(names[0], names[1]),
                    industries=(names[2],),
                    time_zone=TIME_ZONES[i % len(TIME_ZONES)],
                    embedding=embed(b_centroids[kind]),
                    followers={pl: int(np.exp(rng.normal(8.5, 0.8))) for pl in PLATFORMS},
                )
            )
        self.topics: list[Topic] = [
            Topic(index=k * 10 + n, kind=k, text=text, embedding=embed(t_centroids[k]))
            for k, texts in enumerate(TOPIC_KINDS)
            for n, text in enumerate(texts)
        ]

        # Effect tables, one array per dimension with the trailing axis over its values.
        self._g, self._P, self._T, self._B, self._Q = [], [], [], [], []
        for dim in space.dimensions:
            n = len(dim.values)
            self._g.append(rng.normal(0, p.global_sd, n))
            self._P.append(rng.normal(0, p.platform_sd, (len(PLATFORMS), n)))
            self._T.append(rng.normal(0, p.time_sd, (len(PLATFORMS), len(TIME_BUCKETS), n)))
            self._B.append(rng.normal(0, p.business_sd, (len(BUSINESS_KINDS), n)))
            self._Q.append(rng.normal(0, p.topic_sd, (len(TOPIC_KINDS), n)))
        # Every joint action as value indices, shape (n_actions, n_dims).
        self.joint: IntArray = np.array(
            list(itertools.product(*(range(len(d.values)) for d in space.dimensions))), dtype=np.int64
        )
        # From a stream of its own, so the tables above are the same whatever time_main_sd is.
        when = np.random.default_rng([seed, 20261206])
        half = p.time_main_sd / math.sqrt(2)
        shape = (len(PLATFORMS), len(TIME_BUCKETS))
        self._when: FloatArray = when.normal(0, half, shape) + when.normal(0, half, (n_businesses, *shape))
        # Common random numbers: every expectation uses the same draws.
        draws = rng.standard_t(NOISE_DOF, p.monte_carlo_draws) / math.sqrt(NOISE_DOF / (NOISE_DOF - 2))
        self._z: FloatArray = np.sort(draws)
        self._delete_u: FloatArray = rng.random(p.monte_carlo_draws)

    def effects(self, business: Business, topic: Topic, platform: str, time_bucket: str) -> list[FloatArray]:
        """Per dimension, the log-rate effect of each value in this context."""
        pi, ti = PLATFORMS.index(platform), TIME_BUCKETS.index(time_bucket)
        return [
            self._g[d] + self._P[d][pi] + self._T[d][pi, ti] + self._B[d][business.kind] + self._Q[d][topic.kind]
            for d in range(len(self.space.dimensions))
        ]

    def best_bucket(self, business: Business, platform: str) -> str:
        """The local time bucket whose main effect is highest for this business and platform."""
        return TIME_BUCKETS[int(np.argmax(self._when[business.index, PLATFORMS.index(platform)]))]

    def mean_log_rate(self, business: Business, topic: Topic, platform: str, time_bucket: str) -> FloatArray:
        """μ for every joint action, shape (n_actions,)."""
        eff = self.effects(business, topic, platform, time_bucket)
        when = self._when[business.index, PLATFORMS.index(platform), TIME_BUCKETS.index(time_bucket)]
        mu = np.full(len(self.joint), math.log(BASE_RATE[platform]) + when)
        for d, e in enumerate(eff):
            mu += e[self.joint[:, d]]
        return mu

    def _window_fraction(self, platform: str) -> float:
        """R / (m_p · I): slot-weighted share of interactions visible in the reward window."""
        cfg = self.reward_config
        slots = cfg.window_slots
        weights = np.array([cfg.slot_weights[s] for s in slots])
        frac = np.array([1 - math.exp(-s / ACCRUAL_HOURS[platform]) for s in slots])
        return float((weights * frac).sum() / weights.sum())

    def _multiplier(self, platform: str) -> float:
        weights = self.reward_config.engagement_weights[platform]
        return sum(weights.get(c, 0.0) * share for c, share in SHARES[platform].items())

    def expected_rewards(self, business: Business, topic: Topic, platform: str, time_bucket: str) -> FloatArray:
        """E[r | context, a] for every joint action, shape (n_actions,), by Monte Carlo
        over the fixed noise draws (deletions included)."""
        mu = self.mean_log_rate(business, topic, platform, time_bucket)
        followers = business.followers[platform]
        log_rate = mu[:, None] + self.params.noise_sd * self._z[None, :]
        r_big = followers * np.exp(log_rate) * self._multiplier(platform) * self._window_fraction(platform)
        r = normalised_engagement(r_big, followers)
        deleted = self._deleted(log_rate, mu.mean(), self._delete_u[None, :])
        penalty = self._penalty()
        r = np.where(deleted, np.maximum(r - penalty, -1.0), r)
        out: FloatArray = r.mean(axis=1)
        return out

    @staticmethod
    def _deleted(log_rate: FloatArray, context_mean: float, u: FloatArray) -> npt.NDArray[np.bool_]:
        out: npt.NDArray[np.bool_] = (log_rate < context_mean + DELETE_BELOW) & (u < DELETE_PROB)
        return out

    def _penalty(self) -> float:
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        return deletion_penalty(t0, t0 + timedelta(hours=DELETE_AFTER_HOURS), self.reward_config)

    def rewards_for(
        self, business: Business, topic: Topic, platform: str, time_bucket: str, z: float, u: float
    ) -> FloatArray:
        """The reward every joint action would get for one noise draw ``z`` (standardised
        Student-t) and deletion draw ``u`` ~ U(0, 1), shape (n_actions,): the same
        formula as ``expected_rewards``, so its mean over draws is that expectation."""
        mu = self.mean_log_rate(business, topic, platform, time_bucket)
        followers = business.followers[platform]
        log_rate = mu + self.params.noise_sd * z
        r_big = followers * np.exp(log_rate) * self._multiplier(platform) * self._window_fraction(platform)
        r = normalised_engagement(r_big, followers)
        deleted = self._deleted(log_rate, float(mu.mean()), np.full(mu.shape, u))
        out: FloatArray = np.where(deleted, np.maximum(r - self._penalty(), -1.0), r)
        return out

    def drifted(self, seed: int) -> Audience:
        """The same businesses, topics and embeddings with every effect table drawn
        afresh: the audience's tastes change, the contexts do not."""
        rng = np.random.default_rng(seed)
        p = self.params
        other = copy.copy(self)
        other._g, other._P, other._T, other._B, other._Q = [], [], [], [], []
        for dim in self.space.dimensions:
            n = len(dim.values)
            other._g.append(rng.normal(0, p.global_sd, n))
            other._P.append(rng.normal(0, p.platform_sd, (len(PLATFORMS), n)))
            other._T.append(rng.normal(0, p.time_sd, (len(PLATFORMS), len(TIME_BUCKETS), n)))
            other._B.append(rng.normal(0, p.business_sd, (len(BUSINESS_KINDS), n)))
            other._Q.append(rng.normal(0, p.topic_sd, (len(TOPIC_KINDS), n)))
        return other

    def action_index(self, action: dict[str, str]) -> int:
        idx = [d.index(action[d.name]) for d in self.space.dimensions]
        # Row-major position in the product of the dimension sizes.
        pos = 0
        for d, i in zip(self.space.dimensions, idx, strict=True):
            pos = pos * len(d.values) + i
        return pos

    def draw(
        self,
        business: Business,
        topic: Topic,
        platform: str,
        time_bucket: str,
        action: dict[str, str],
        rng: np.random.Generator,
    ) -> Outcome:
        mu_all = self.mean_log_rate(business, topic, platform, time_bucket)
        mu = mu_all[self.action_index(action)]
        z = rng.standard_t(NOISE_DOF) / math.sqrt(NOISE_DOF / (NOISE_DOF - 2))
        log_rate = mu + self.params.noise_sd * z
        deleted = bool(self._deleted(np.array([log_rate]), float(mu_all.mean()), np.array([rng.random()]))[0])
        return Outcome(
            interactions=business.followers[platform] * math.exp(log_rate),
            deleted_after_hours=DELETE_AFTER_HOURS if deleted else None,
        )

    @staticmethod
    def counters_at(outcome: Outcome, platform: str, hours: float) -> dict[str, int]:
        """Cumulative counters ``hours`` after posting (monotone in ``hours``)."""
        frac = 1 - math.exp(-hours / ACCRUAL_HOURS[platform])
        return {c: int(share * outcome.interactions * frac) for c, share in SHARES[platform].items()}
