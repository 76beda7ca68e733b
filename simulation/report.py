"""The learning table and curve of a campaign."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulation.campaign import CampaignResult


@dataclass(frozen=True)
class Period:
    label: str
    posts: int
    learned: float  # mean E[r] of the actions the policy chose
    realised: float  # mean realised reward (computed ones)
    uniform: float
    best: float

    @property
    def gap_closed(self) -> float:
        """Share of the gap between uniform random and the best possible that the policy closed."""
        gap = self.best - self.uniform
        return (self.learned - self.uniform) / gap if gap > 0 else float("nan")


def _period(label: str, records: list) -> Period:  # type: ignore[type-arg]
    realised = [r.reward for r in records if r.reward is not None]
    return Period(
        label=label,
        posts=len(records),
        learned=float(np.mean([r.expected for r in records])),
        realised=float(np.mean(realised)) if realised else float("nan"),
        uniform=float(np.mean([r.uniform for r in records])),
        best=float(np.mean([r.best for r in records])),
    )


def weekly(result: CampaignResult) -> list[Period]:
    weeks = sorted({r.day // 7 for r in result.posts})
    return [_period(f"week {w + 1}", [r for r in result.posts if r.day // 7 == w]) for w in weeks]


def final_period(result: CampaignResult, share: float = 0.25) -> Period:
    """The last ``share`` of the campaign's days."""
    first = int(result.config.days * (1 - share))
    return _period(f"days {first + 1}-{result.config.days}", [r for r in result.posts if r.day >= first])


def table(periods: list[Period]) -> str:
    head = f"{'period':<14}{'posts':>6}{'learned':>9}{'realised':>10}{'uniform':>9}{'best':>8}{'gap closed':>12}"
    lines = [head, "-" * len(head)]
    for p in periods:
        lines.append(
            f"{p.label:<14}{p.posts:>6}{p.learned:>9.3f}{p.realised:>10.3f}{p.uniform:>9.3f}{p.best:>8.3f}"
            f"{p.gap_closed:>11.0%}"
        )
    return "\n".join(lines)


def plot(periods: list[Period], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(1, len(periods) + 1)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    ax.plot(x, [p.best for p in periods], "--", color="#2a9d8f", label="best possible")
    ax.plot(x, [p.learned for p in periods], "-o", color="#e76f51", label="learned policy (expected)")
    ax.plot(x, [p.realised for p in periods], ":", color="#e76f51", alpha=0.7, label="learned policy (realised)")
    ax.plot(x, [p.uniform for p in periods], "--", color="#264653", label="uniform random")
    ax.set_xlabel("week")
    ax.set_ylabel("mean reward")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="center right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def day_times(seconds: list[float], early_start: int = 5, window: int = 7) -> str | None:
    """A line comparing the wall time of a simulated day early in the campaign (days
    ``early_start`` to ``early_start + window − 1``, once the first rewards are learned)
    with the last ``window`` days: medians, so a day with a one-off job (the normaliser's
    fit) does not count. None when the campaign is too short for two separate windows."""
    if len(seconds) < early_start + 2 * window:
        return None
    early = float(np.median(seconds[early_start : early_start + window]))
    late = float(np.median(seconds[-window:]))
    first, last = len(seconds) - window + 1, len(seconds)
    return (
        f"Wall time per simulated day (median): {early:.2f} s over days {early_start + 1}-{early_start + window}, "
        f"{late:.2f} s over days {first}-{last} ({late / early:.2f}x)."
    )
