"""A stand-in for the evaluation module, to test the dashboard's what-if hook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    policy: str
    estimator: str
    value: float
    ci_low: float
    ci_high: float
    n: int


def what_if_rows(db: Any, space: Any) -> list[Row]:
    return [Row("greedy", "SNIPS", 0.412, 0.38, 0.44, 120), Row("uniform", "IPS", 0.301, 0.25, 0.35, 120)]
