"""The performance benchmark keeps working, and a decision keeps to its round-trip budget."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import PROJECT_ROOT


@pytest.mark.slow
def test_the_quick_benchmark_writes_every_section_and_decisions_need_at_most_three_round_trips(tmp_path: Path):
    out = tmp_path / "performance.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.performance", "--quick", "--out", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    for section in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## 7."):
        assert section in text
    assert "reward model + IGW (shared/core/bandit.py)" in text  # the learner alone, measured
    assert "The same two states in the same minutes" in text  # section 8's paired databases, measured
    trips = float(re.search(r"round trips per decision[^*]*\*\*([0-9.]+)\*\*", text).group(1))  # type: ignore[union-attr]
    assert trips <= 3.0
    assert "| 0 |" in text  # no lost updates in the throughput runs
