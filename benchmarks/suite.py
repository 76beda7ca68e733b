"""Build the suite's worlds at the benchmark's scale (pure numpy, no I/O)."""

from __future__ import annotations

from typing import Final

from benchmarks.learning_world import World, WorldConfig, build_world
from benchmarks.worlds import WORLDS

SUITE_DAYS: Final = 112  # 16 weeks; a drift comes at half time, so 8 weeks to recover
EARLY_DAYS: Final = 28  # "the first four weeks"


def suite_world(name: str, seed: int, days: int = SUITE_DAYS, *, businesses: int | None = None) -> World:
    """World ``name`` of the suite with audience ``seed``; a drift world drifts at day ``days // 2``."""
    spec = WORLDS[name]
    config = WorldConfig(
        seed=seed,
        days=days,
        businesses=spec.businesses if businesses is None else businesses,
        world=name,
        drift_day=None if spec.drift == "none" else days // 2,
    )
    return build_world(config, spec.space())
