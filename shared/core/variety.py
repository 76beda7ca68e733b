"""A brand's cap on repeated recipes (docs/variety.md). Pure.

A recipe is a whole action (one value per dimension). With a window of W posts and at
most M alike, a new post on a platform may not take a recipe that M of the business's
last W − 1 posts there already took: no W consecutive posts hold a recipe more than M
times. The policy then draws from π given that the action is none of those recipes, and
logs that probability (``shared.core.policy.draw``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.core.action_space import ActionSpace

# The default: at most 3 alike in any 10 consecutive posts of a business on a platform.
DEFAULT_WINDOW = 10
DEFAULT_MAX_REPEATS = 3


@dataclass(frozen=True)
class VarietyCap:
    window: int = DEFAULT_WINDOW  # consecutive posts of a platform; 0: no cap
    max_repeats: int = DEFAULT_MAX_REPEATS

    def __post_init__(self) -> None:
        if not 0 <= self.window <= 100:
            raise ValueError("window must be in 0..100 (0: no cap)")
        if self.window and not 1 <= self.max_repeats < self.window:
            raise ValueError("max_repeats must be at least 1 and below the window")

    @property
    def lookback(self) -> int:
        """How many earlier posts decide what a new one may take."""
        return 0 if self.window == 0 else self.window - 1


def recipes_to_avoid(recent: Sequence[Mapping[str, str]], space: ActionSpace, cap: VarietyCap) -> list[tuple[int, ...]]:
    """The recipes (as value positions) that ``cap`` forbids after the ``recent`` actions
    (newest first, of one business and platform). Actions of another action space (a value
    it no longer has) count for nothing."""
    if cap.window == 0:
        return []
    counts: Counter[tuple[int, ...]] = Counter()
    for action in recent[: cap.lookback]:
        try:
            counts[tuple(d.index(action[d.name]) for d in space.dimensions)] += 1
        except (KeyError, ValueError):
            continue
    return sorted(r for r, n in counts.items() if n >= cap.max_repeats)
