"""The product learns: a seeded simulated campaign through the real functions
and database ends with a policy clearly better than uniform random."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import PROJECT_ROOT
from simulation.campaign import CampaignConfig, run_campaign
from simulation.report import final_period
from tests.support.database import START


@pytest.mark.slow
def test_the_learned_policy_beats_uniform_random_over_the_last_week(runtime, functions):
    config = CampaignConfig(seed=11, businesses=6, days=28, start=START)
    result = run_campaign(config, runtime, functions)

    final = final_period(result)
    assert final.posts == 6 * 4 * 7
    # Every published post was settled and learned from exactly once.
    assert all(r.status == "computed" for r in result.posts)
    # One version per reward, and one for the context normaliser the daily sweep fitted
    # once there were POLICY_NORMALISER_FIT_AFTER decisions (a lifecycle change).
    assert result.policy_version == len(result.posts) + 1
    with runtime.db.transaction() as conn:
        assert conn.execute("select kind from policy_lifecycle").fetchall() == [("normaliser",)]
        fitted_on = conn.execute("select fitted_on from context_normalisers where active").fetchone()
    assert fitted_on is not None and fitted_on[0] >= runtime.settings.policy_normaliser_fit_after
    # A clear margin: a third of the way from uniform random to the best possible,
    # measured on the expected reward of the actions the policy chose.
    assert final.learned > final.uniform + (final.best - final.uniform) / 3
    # The realised rewards tell the same story.
    assert final.realised > final.uniform


@pytest.mark.slow
def test_the_main_job_prints_its_table_and_writes_its_plot(tmp_path: Path):
    plot = tmp_path / "curve.png"
    report = tmp_path / "report.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulation",
            "--days",
            "3",
            "--businesses",
            "2",
            "--plot",
            str(plot),
            "--report",
            str(report),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "gap closed" in done.stdout
    assert "24 posts, 24 rewards computed, policy version 24" in done.stdout
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert "2 businesses · 24 posts" in report.read_text(encoding="utf-8")
