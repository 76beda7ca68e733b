"""The world suite of the learning benchmark: simulated audiences that differ the
ways real audiences do, split into the worlds the defaults were tuned on and the
worlds that tuning never saw (docs/learning.md, "Protocol").

Every world is ``simulation.audience.Audience`` (engagement counts through the
product's reward formula: follower normalisation, slot weights, deletions) with
what the demo's audience leaves out switched on by a ``WorldSpec``:

    log rate = (the demo audience's additive effects)
             + Σ_{pairs} I[d, e][a_d, a_e]          interactions between dimensions (same for every business)
             + K[kind, TONE, HOOK][a_tone, a_hook]   interactions that depend on the business kind
             + O[business, d, a_d]                   a business's own tastes, apart from its kind's
             + σ z,  z ~ Student-t(ν) / sd           lighter or heavier tails

plus the embedding geometry (how much one shared direction dominates, how tight
the clusters), how many businesses, which platforms they post on, abrupt or
gradual drift, and the default or a larger action space. Pure numpy.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np

from shared.core.action_space import ActionSpace
from shared.core.context import PLATFORMS, FloatArray
from simulation.audience import BUSINESS_KINDS, Audience, AudienceParams, Business, Topic

INTERACTING: Final = (("TONE", "HOOK_TYPE"), ("VISUAL_STYLE", "CREATIVITY"), ("LENGTH", "TEXT_IN_IMAGE"))
KIND_INTERACTING: Final = ("TONE", "HOOK_TYPE")
LARGE_SPACE: Final = Path(__file__).with_name("large_action_space.json")
GRADUAL_WEEKS: Final = 4  # a gradual drift moves a quarter of the way each week


@dataclass(frozen=True)
class WorldSpec:
    name: str
    tuning: bool  # True: the defaults were tuned on it (seeds TUNING_SEEDS); False: held out
    about: str
    businesses: int = 12
    interaction_sd: float = 0.0
    kind_interaction_sd: float = 0.0
    own_taste_sd: float = 0.0
    noise_sd: float = 0.6
    noise_dof: float = 5.0
    shared_direction: float = 1.5
    individual_noise: float = 0.35
    platform_share: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)  # P(a business posts on p on a day)
    drift: Literal["none", "abrupt", "gradual"] = "none"
    large_space: bool = False

    def __post_init__(self) -> None:
        if self.noise_dof <= 2:
            raise ValueError("noise_dof must be > 2 (finite variance)")
        if len(self.platform_share) != len(PLATFORMS) or not all(0 < s <= 1 for s in self.platform_share):
            raise ValueError("platform_share: one share in (0, 1] per platform")

    def space(self) -> ActionSpace:
        return ActionSpace.load(LARGE_SPACE if self.large_space else None)


TUNING_SEEDS: Final = (101, 102, 103)
HELD_OUT_SEEDS: Final = (1, 2, 3, 4, 5)

SUITE: Final = (
    WorldSpec("additive", True, "the demo's audience: additive effects per dimension"),
    WorldSpec(
        "interacting", True, "strong interactions between dimensions", interaction_sd=0.3, kind_interaction_sd=0.2
    ),
    WorldSpec(
        "heavy-tailed", True, "heavy-tailed noise (Student-t ν = 2.5), more deletions", noise_dof=2.5, noise_sd=0.9
    ),
    WorldSpec("abrupt-drift", True, "every taste redrawn at half time", drift="abrupt"),
    WorldSpec(
        "many-small",
        True,
        "40 businesses, each on some platforms each day",
        businesses=40,
        platform_share=(0.5, 0.3, 0.25, 0.3),
    ),
    WorldSpec(
        "own-tastes", False, "businesses whose tastes differ from their kind's", own_taste_sd=0.25, interaction_sd=0.15
    ),
    WorldSpec(
        "anisotropic",
        False,
        "one direction dominates the embeddings, tight clusters",
        shared_direction=3.0,
        individual_noise=0.15,
        own_taste_sd=0.1,
    ),
    WorldSpec(
        "few-heavy",
        False,
        "4 businesses with their own tastes, heavy tails",
        businesses=4,
        own_taste_sd=0.2,
        noise_dof=3.0,
        noise_sd=0.8,
    ),
    WorldSpec(
        "gradual-drift",
        False,
        "tastes move to new ones over 4 weeks from half time",
        drift="gradual",
        interaction_sd=0.2,
    ),
    WorldSpec("drift-own", False, "abrupt drift, businesses with own tastes", drift="abrupt", own_taste_sd=0.2),
    WorldSpec(
        "large-space",
        False,
        "2,160 joint actions (6 hooks, 3 lengths, 5 tones, 3, 2, 4 styles), interactions",
        large_space=True,
        interaction_sd=0.25,
    ),
    WorldSpec(
        "instagram-heavy",
        False,
        "mostly Instagram, interactions and heavy tails",
        platform_share=(1.0, 0.2, 0.4, 0.2),
        interaction_sd=0.3,
        noise_dof=3.0,
    ),
)
WORLDS: Final = {w.name: w for w in SUITE}


class SuiteAudience(Audience):
    """The demo audience plus the spec's interactions, own tastes, tails and geometry."""

    def __init__(self, space: ActionSpace, seed: int, spec: WorldSpec, *, truth_draws: int) -> None:
        params = AudienceParams(
            noise_sd=spec.noise_sd,
            shared_direction=spec.shared_direction,
            individual_noise=spec.individual_noise,
            monte_carlo_draws=truth_draws,
        )
        super().__init__(space, seed, n_businesses=spec.businesses, params=params)
        self.spec = spec
        self._mix: tuple[SuiteAudience, float] | None = None
        self._draw_tables(np.random.default_rng([seed, 77]))
        rng = np.random.default_rng([seed, 78])
        self._z = np.sort(self.noise(rng, truth_draws))

    def noise(self, rng: np.random.Generator, size: int) -> FloatArray:
        """Standardised Student-t(ν) draws."""
        nu = self.spec.noise_dof
        out: FloatArray = rng.standard_t(nu, size) / math.sqrt(nu / (nu - 2))
        return out

    def _draw_tables(self, rng: np.random.Generator) -> None:
        names = [d.name for d in self.space.dimensions]
        sizes = {d.name: len(d.values) for d in self.space.dimensions}
        self._pairs = {
            (names.index(d), names.index(e)): rng.normal(0, self.spec.interaction_sd, (sizes[d], sizes[e]))
            for d, e in INTERACTING
            if d in sizes and e in sizes
        }
        d, e = KIND_INTERACTING
        self._kind_pair = (
            (
                names.index(d),
                names.index(e),
                rng.normal(0, self.spec.kind_interaction_sd, (len(BUSINESS_KINDS), sizes[d], sizes[e])),
            )
            if d in sizes and e in sizes
            else None
        )
        self._own = [rng.normal(0, self.spec.own_taste_sd, (len(self.businesses), n)) for n in sizes.values()]

    def mean_log_rate(self, business: Business, topic: Topic, platform: str, time_bucket: str) -> FloatArray:
        mu = super().mean_log_rate(business, topic, platform, time_bucket)
        j = self.joint
        for (d, e), table in self._pairs.items():
            mu += table[j[:, d], j[:, e]]
        if self._kind_pair is not None:
            d, e, tables = self._kind_pair
            mu += tables[business.kind][j[:, d], j[:, e]]
        for d, own in enumerate(self._own):
            mu += own[business.index][j[:, d]]
        if self._mix is not None:
            other, w = self._mix
            mu = (1 - w) * mu + w * other.mean_log_rate(business, topic, platform, time_bucket)
        return mu

    def drifted(self, seed: int) -> SuiteAudience:
        other = super().drifted(seed)
        assert isinstance(other, SuiteAudience)
        other._draw_tables(np.random.default_rng([seed, 77]))
        other._mix = None
        return other

    def blended(self, other: SuiteAudience, weight: float) -> SuiteAudience:
        """Tastes (1 − weight) of this audience's and weight of ``other``'s."""
        out = copy.copy(self)
        out._mix = (other, weight)
        return out
