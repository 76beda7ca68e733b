"""How hard the reliability suites push: ``quick`` in `make test`, ``full`` in `make test-reliability`.

The same tests run at both scales; only the counts change. Every run appends
its figures (rounds, cases, violations) to ``out/reliability/figures.jsonl``,
which docs/reliability.md quotes.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from shared.config import PROJECT_ROOT

SCALE = os.environ.get("RELIABILITY_SCALE", "quick")
if SCALE not in ("quick", "full"):
    raise ValueError(f"RELIABILITY_SCALE must be quick or full, not {SCALE!r}")
FULL = SCALE == "full"

DUPLICATE_ROUNDS = 50 if FULL else 3  # rounds of 16 concurrent deliveries, per function
CRASH_ROUNDS = 10 if FULL else 2  # SIGKILLs per fault point
TERMINATE_ROUNDS = 3 if FULL else 1  # connection terminations per fault point
SWEEP_REWARDS = 1000  # the figure, at both scales
SWEEP_ROUNDS = 3 if FULL else 1
LOST_UPDATE_WORKERS, LOST_UPDATE_EACH = 8, 25
BAD_INPUT_EXAMPLES = 2500 if FULL else 400  # per endpoint
VALID_INPUT_EXAMPLES = 300 if FULL else 60  # per endpoint
MODEL_EXAMPLES, MODEL_STEPS = (100, 50) if FULL else (15, 30)
FUZZ_EXAMPLES = 200 if FULL else 40  # schemathesis, per operation and phase

FIGURES = Path(os.environ.get("RELIABILITY_FIGURES", PROJECT_ROOT / "out" / "reliability" / "figures.jsonl"))


def record(check: str, **figures: Any) -> None:
    """Append one line of figures (one write: lines from parallel workers do not interleave)."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"check": check, "scale": SCALE, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **figures})
    with FIGURES.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
