"""Off-policy evaluation of a real log: a simulated campaign through the real
functions and database, then the service, the dashboard hook and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from shared.core.target_policies import default_what_ifs
from shared.services.evaluation import MINIMUM, evaluate_logged, refresh_evaluation
from shared.store.evaluation import cached_evaluation, load_logged
from simulation.campaign import CampaignConfig, run_campaign
from tests.support.cli import run_cli
from tests.support.database import START


@pytest.fixture
def campaign(runtime, functions):
    result = run_campaign(CampaignConfig(seed=5, businesses=2, days=6, start=START), runtime, functions)
    return result


def rewards(runtime) -> list[float]:
    with runtime.db.transaction() as conn:
        return [float(r[0]) for r in conn.execute("select value from rewards where value is not null")]


@pytest.mark.slow
def test_the_logged_campaign_is_evaluated_for_every_target_and_estimator(runtime, campaign, database_url, tmp_path):
    values = rewards(runtime)
    result = evaluate_logged(runtime.db, runtime.space)
    assert result.n == len(values) >= MINIMUM
    assert result.version == campaign.policy_version
    policies = list(dict.fromkeys(e.policy for e in result.estimates))
    assert policies[0].startswith(f"current policy (v{result.version}")
    assert policies[1:3] == ["uniform random", "logging policy (as run)"]
    assert policies[3:] == [w.name for w in default_what_ifs()]
    assert len(result.estimates) == 3 * len(policies)
    by = {(e.policy, e.estimator): e for e in result.estimates}
    # The logging policy reweights nothing: its IPS estimate is the mean reward, every post counts.
    logging = by[("logging policy (as run)", "IPS")]
    assert logging.value == pytest.approx(np.mean(values))
    assert logging.ess == pytest.approx(len(values))
    for e in result.estimates:
        assert e.ci_low <= e.ci_high and 0 < e.ess <= e.n + 1e-9
        if e.estimator == "SNIPS":  # a weighted mean of rewards stays in the reward's range
            assert -1.0 <= e.ci_low <= e.value <= e.ci_high <= 1.0

    # The campaign's last sweep stored an evaluation; brought up to date, it holds the same
    # rows (the dashboard's what-if table reads them); again at the same version, nothing is done.
    refresh_evaluation(runtime.db, runtime.space, runtime.clock.now())
    with runtime.db.transaction() as conn:
        stored = cached_evaluation(conn)
    assert stored is not None and stored.version == result.version and stored.n == result.n
    assert [(e.policy, e.estimator, e.value, e.ess) for e in stored.estimates] == [
        (e.policy, e.estimator, e.value, e.ess) for e in result.estimates
    ]
    now = runtime.clock.now()
    assert refresh_evaluation(runtime.db, runtime.space, now) is None
    # Once the policy moves on, a sweep evaluates again, but not sooner than it is told.
    with runtime.db.transaction() as conn:
        conn.execute("update policy_state set version = version + 1")
    assert refresh_evaluation(runtime.db, runtime.space, now + timedelta(hours=1), every=timedelta(hours=6)) is None
    again = refresh_evaluation(runtime.db, runtime.space, now + timedelta(hours=7), every=timedelta(hours=6))
    assert again is not None and again.version == result.version + 1
    # The CLI prints them.
    done = run_cli(database_url, tmp_path, "evaluate", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout)
    assert shown["n"] == result.n and len(shown["estimates"]) == len(result.estimates)
    text = run_cli(database_url, tmp_path, "evaluate")
    assert "always question hooks on LinkedIn" in text.stdout and "SNIPS" in text.stdout


def test_a_log_too_short_to_evaluate_gives_no_rows(runtime, functions, make_profile):
    business = make_profile()
    status, _ = functions.post(
        "generate_post", {"business_id": str(business), "request_id": "r1", "platform": "x", "topic": "tea"}
    )
    assert status == 201
    result = evaluate_logged(runtime.db, runtime.space)
    assert result.n == 0 and result.estimates == ()
    assert refresh_evaluation(runtime.db, runtime.space, runtime.clock.now()) is None
    with runtime.db.transaction() as conn:
        assert cached_evaluation(conn) is None


def test_a_bad_what_if_file_is_refused_by_the_cli(database_url, tmp_path):
    path = tmp_path / "what_ifs.json"
    path.write_text('[{"name": "mars", "platform": "mars", "fixed": {"LENGTH": "short"}}]', encoding="utf-8")
    done = run_cli(database_url, tmp_path, "evaluate", "--what-ifs", str(path))
    assert done.returncode != 0 and "unknown platform" in done.stderr


@pytest.mark.slow
def test_holdback_decisions_are_left_out_of_the_evaluation(runtime, functions, monkeypatch):
    monkeypatch.setattr(runtime, "params", replace(runtime.params, holdback_share=0.5))
    run_campaign(CampaignConfig(seed=6, businesses=2, days=6, start=START), runtime, functions)
    with runtime.db.transaction() as conn:
        held, drawn = conn.execute(
            "select count(*) filter (where d.holdback), count(*) filter (where not d.holdback)"
            " from rewards r join decisions d using (post_id) where r.value is not null"
        ).fetchone()
    assert held > 0 and drawn >= MINIMUM
    result = evaluate_logged(runtime.db, runtime.space)
    assert result.n == drawn
    logging = next(e for e in result.estimates if e.policy == "logging policy (as run)" and e.estimator == "IPS")
    assert logging.ess == pytest.approx(drawn)


@pytest.mark.slow
def test_the_log_is_read_into_arrays_as_the_decisions_json_says(runtime, campaign):
    """load_logged against a reading of each decision's choices in Python: π, the chosen
    columns, the variety cap's shaped propensity, the rewards, oldest first; a decision over
    another action space than the newest one's is left out."""
    with runtime.db.transaction() as conn:
        rows = conn.execute(
            "select d.decision_id, d.joint_propensity from decisions d join rewards r using (post_id)"
            " where r.value is not null and not d.holdback order by d.created_at desc, d.decision_id desc limit 30"
        ).fetchall()
        elsewhere = rows[5][0]
        capped = next(decision for decision, joint in rows[6:] if joint <= 0.7)
        # One decision as the variety cap leaves it (a share of π left out, the joint propensity
        # renormalised), one over an older space.
        conn.execute(
            "update decisions set excluded = 0.25, joint_propensity = joint_propensity / 0.75 where decision_id = %s",
            (capped,),
        )
        conn.execute("update decisions set action_space = 'older-v0' where decision_id = %s", (elsewhere,))
        expected = conn.execute(
            "select d.decision_id, r.value, d.platform, d.time_bucket, d.x, d.choices, d.excluded, d.joint_propensity"
            " from decisions d join rewards r using (post_id)"
            " where r.value is not null and not d.holdback and d.decision_id <> %s"
            " order by d.created_at desc, d.decision_id desc limit 40",
            (elsewhere,),
        ).fetchall()[::-1]
        logged = load_logged(conn, 40)
    assert len(logged) == len(expected) == 40
    first = expected[-1][5]
    assert logged.dimensions == tuple(c["dimension"] for c in first)
    assert logged.values == tuple(tuple(c["values"]) for c in first)
    for i, (decision, value, platform, bucket, x, choices, excluded, joint) in enumerate(expected):
        assert (logged.platforms[i], logged.time_buckets[i]) == (platform, bucket)
        assert logged.rewards[i] == value
        assert np.array_equal(logged.x[i], np.asarray(x))
        assert np.array_equal(logged.pi[i], np.concatenate([c["pi"] for c in choices]))
        columns = [o + c["values"].index(c["chosen"]) for o, c in zip(logged.offsets, choices, strict=True)]
        assert logged.chosen[i].tolist() == columns
        product = float(np.prod([c["pi"][c["values"].index(c["chosen"])] for c in choices]))
        want = product / joint if excluded > 0 else 1.0
        assert logged.shaped[i] == pytest.approx(want, rel=1e-12), decision
    place = [row[0] for row in expected].index(capped)
    assert logged.shaped[place] == pytest.approx(0.75, rel=1e-9)
    assert np.count_nonzero(logged.shaped != 1.0) == 1
