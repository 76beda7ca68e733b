"""Through generate_post and the database: explanations add up to the scores that
produced the logged π⁰, the decision logs the ε it used, holdback decisions take
the baseline action with propensity 1 and are never learned from, and the lift
report agrees with the rewards as stored."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import numpy as np
import pytest

from shared.core.policy import baseline_action, seed_from_id
from shared.services.generation import decision_id_for
from shared.services.holdback import holdback_report
from tests.support.functions import (
    at,
    decision_of,
    embedding,
    fetch_all,
    fetch_one,
    generate,
    metrics,
    policy_version,
    state_digest,
)


def _learn(functions, clock, bid, n: int) -> None:
    t0 = clock.now()
    posts = [
        generate(functions, bid, f"l{i}", "linkedin", topic_embedding=embedding(i), auto_publish=True)["post_id"]
        for i in range(n)
    ]
    clock.set(t0 + timedelta(hours=25))
    for i, post in enumerate(posts):
        metrics(functions, post, t0 + timedelta(hours=24.5), likes=40 + 30 * (i % 3), comments=i, follower_count=8000)
        assert functions.post("update_policy", {"post_id": post})[0] == 200


def _softmax(scores: list[float], tau: float) -> list[float]:
    """Written here from docs/spec.md §4, not with the product's code."""
    z = [s / tau for s in scores]
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = math.fsum(e)
    return [v / total for v in e]


def test_explanations_add_up_to_the_scores_that_produced_the_logged_pi0(
    runtime, gradient, functions, clock, make_profile
):
    bid = make_profile()
    _learn(functions, clock, bid, 6)
    # Now, in the time bucket the policy learned in (unscheduled, a draft would go to the best time).
    when = clock.now().isoformat()
    answer = generate(functions, bid, "explain-me", "linkedin", topic_embedding=embedding(42), scheduled_for=when)
    stored = decision_of(runtime, answer["post_id"])
    assert answer["policy_version"] == 6 and answer["explanation"] is not None
    nonzero = 0
    for choice in stored["choices"]:
        dim = choice["dimension"]
        parts = answer["explanation"][dim]
        assert list(parts) == choice["values"]
        scores = []
        for i, value in enumerate(choice["values"]):
            p = parts[value]
            assert p["h"] + p["theta_x"] == p["score"] == choice["scores"][i]
            assert (p["h"], p["theta_x"]) == (choice["h"][i], choice["theta_x"][i])
            assert (p["pi0"], p["pi"]) == (choice["pi0"][i], choice["pi"][i])
            assert p["pi"] == answer["probabilities"][dim][value]
            nonzero += p["h"] != 0 and p["theta_x"] != 0
            scores.append(p["score"])
        tau = fetch_one(runtime, "select tau from decisions where post_id = %s", UUID(answer["post_id"]))[0]
        for got, want in zip(choice["pi0"], _softmax(scores, tau), strict=True):
            assert abs(got - want) < 1e-12
    assert nonzero > 0  # the policy has learned: both parts are in play
    assert (answer["tau"], answer["epsilon"], answer["holdback"]) == (1.0, runtime.params.epsilon, False)


def test_the_decision_logs_the_scheduled_epsilon(runtime, gradient, functions, clock, make_profile, monkeypatch):
    monkeypatch.setattr(runtime, "params", replace(runtime.params, epsilon=0.2, epsilon_half_life=3, epsilon_min=0.01))
    bid = make_profile()
    first = generate(functions, bid, "e0", "linkedin", topic_embedding=embedding(1))
    assert first["epsilon"] == 0.2
    _learn(functions, clock, bid, 6)  # six learning steps: two half-lives
    later = generate(functions, bid, "e6", "linkedin", topic_embedding=embedding(2))
    assert later["epsilon"] == pytest.approx(0.05, rel=1e-15)
    assert fetch_one(runtime, "select epsilon from decisions where post_id = %s", UUID(later["post_id"]))[0] == 0.05
    for parts in later["explanation"].values():
        n = len(parts)
        for p in parts.values():
            assert p["pi"] == pytest.approx(0.95 * p["pi0"] + 0.05 / n, abs=1e-15)


def test_holdback_decisions_take_the_baseline_action_with_propensity_one(runtime, functions, make_profile, monkeypatch):
    monkeypatch.setattr(
        runtime, "params", replace(runtime.params, holdback_share=0.4, holdback_action=(("TONE", "educational"),))
    )
    bid = make_profile()
    answers = [generate(functions, bid, f"h{i}", "x", topic_embedding=embedding(i)) for i in range(40)]
    baseline = baseline_action(runtime.space, (("TONE", "educational"),))
    held = 0
    for a in answers:
        seed = seed_from_id(decision_id_for(UUID(a["post_id"])).int)
        expected = bool(np.random.default_rng([seed, 1]).random() < 0.4)  # the documented coin
        assert a["holdback"] is expected and a["seed"] == seed
        row = fetch_one(
            runtime, "select holdback, joint_propensity from decisions where post_id = %s", UUID(a["post_id"])
        )
        assert row[0] is expected
        if expected:
            held += 1
            assert a["action"] == baseline and a["joint_propensity"] == 1.0 == row[1]
            assert set(a["propensities"].values()) == {1.0}
            for dim, probs in a["probabilities"].items():
                assert probs == {v: float(v == baseline[dim]) for v in probs}
                assert sum(p["pi0"] for p in a["explanation"][dim].values()) == pytest.approx(1.0)
    assert 5 <= held <= 30


def test_a_holdback_reward_is_never_learned_from(runtime, functions, clock, make_profile, monkeypatch):
    monkeypatch.setattr(runtime, "params", replace(runtime.params, holdback_share=0.5))
    bid = make_profile()
    t0 = clock.now()
    answers = [
        generate(functions, bid, f"k{i}", "x", topic_embedding=embedding(i), auto_publish=True) for i in range(12)
    ]
    held = [a["post_id"] for a in answers if a["holdback"]]
    free = [a["post_id"] for a in answers if not a["holdback"]]
    assert held and free
    clock.set(t0 + timedelta(hours=25))
    for a in answers:
        metrics(functions, a["post_id"], t0 + timedelta(hours=24.5), likes=20, replies=3, follower_count=2000)

    digest = state_digest(runtime)
    status, answer = functions.post("update_policy", {"post_id": held[0]})
    assert status == 200 and answer["applied"] is False and answer["version"] == 0 and answer["reason"] == "holdback"
    assert answer["message"].startswith("not learned from: a holdback post")
    after = state_digest(runtime)
    changed = {t for t in digest if digest[t] != after[t]}
    assert changed == {"rewards"}  # only its policy_applied flag: nothing left to learn
    assert fetch_one(runtime, "select policy_applied from rewards where post_id = %s", UUID(held[0]))[0] is True

    status, answer = functions.post("update_policy", {"post_id": free[0]})
    assert status == 200 and answer["applied"] is True
    assert policy_version(runtime) == len(free)  # the whole group: every policy-arm reward, no holdback one
    ledger = {str(r[0]) for r in fetch_all(runtime, "select post_id from policy_updates")}
    assert ledger == set(free)
    for post in held:
        assert functions.post("update_policy", {"post_id": post})[1]["applied"] is False
    assert {str(r[0]) for r in fetch_all(runtime, "select post_id from policy_updates")} == set(free)


def test_the_lift_report_agrees_with_the_stored_rewards(runtime, functions, clock, make_profile, monkeypatch):
    monkeypatch.setattr(runtime, "params", replace(runtime.params, holdback_share=0.5))
    bid = make_profile()
    t0 = clock.now()
    answers = [
        generate(functions, bid, f"m{i}", platform, topic_embedding=embedding(i), auto_publish=True)
        for i, platform in enumerate(["x", "linkedin"] * 8)
    ]
    clock.set(t0 + timedelta(hours=25))
    for i, a in enumerate(answers):
        metrics(
            functions, a["post_id"], t0 + timedelta(hours=24.5), likes=10 + 17 * i, comments=i % 4, follower_count=3000
        )
    rows = {r.platform: r for r in holdback_report(runtime.db)}
    values = {
        (str(p), bool(h)): v
        for p, h, v in fetch_all(
            runtime, "select r.post_id, d.holdback, r.value from rewards r join decisions d using (post_id)"
        )
    }
    for arm, summary in ((False, rows["all"].policy), (True, rows["all"].holdback)):
        vs = [v for (_, h), v in values.items() if h is arm]
        assert summary.n == len(vs)
        assert summary.mean == pytest.approx(float(np.mean(vs)), abs=1e-12)
        assert summary.variance == pytest.approx(float(np.var(vs, ddof=1)), abs=1e-12)
    lift = rows["all"].lift
    assert lift is not None and lift.low is not None and lift.high is not None
    assert lift.estimate == pytest.approx(rows["all"].policy.mean - rows["all"].holdback.mean)
    assert lift.low < lift.estimate < lift.high
    assert set(rows) == {"all", "x", "linkedin"}
    assert rows["x"].policy.n + rows["x"].holdback.n == 8


def test_the_dashboard_shows_the_lift_once_holdback_rewards_exist(runtime, functions, clock, make_profile, monkeypatch):
    from shared.services.dashboard import dashboard_html

    page = dashboard_html(runtime.db, runtime.space, runtime.params, clock.now())
    assert 'id="holdback-none"' in page and 'id="holdback"' not in page
    monkeypatch.setattr(runtime, "params", replace(runtime.params, holdback_share=0.5))
    bid = make_profile()
    t0 = clock.now()
    answers = [
        generate(functions, bid, f"d{i}", "x", topic_embedding=embedding(i), auto_publish=True) for i in range(10)
    ]
    clock.set(t0 + timedelta(hours=25))
    for i, a in enumerate(answers):
        metrics(
            functions, a["post_id"], t0 + timedelta(hours=24.5), likes=5 + 11 * i, replies=i % 3, follower_count=900
        )
    page = dashboard_html(runtime.db, runtime.space, runtime.params, clock.now())
    lift = holdback_report(runtime.db)[0].lift
    assert lift is not None and 'id="holdback"' in page and "Holdback share 50%" in page
    assert f"{lift.estimate:+.3f}" in page
    held = sum(a["holdback"] for a in answers)
    assert page.count("holdback (fixed action)") == held > 0  # marked in the latest posts


@pytest.mark.parametrize("learner", ["bandit", "gradient"])
def test_a_decision_keeps_to_two_round_trips_with_holdback_and_the_schedule_on(
    runtime, database_url, make_profile, learner
):
    """Counted on the wire (benchmarks/rtcount.py): one pipelined read, one insert."""
    from pathlib import Path
    from urllib.parse import parse_qs, urlparse

    from benchmarks.rtcount import RoundTripProxy
    from shared.services.generation import GenerateCommand, create_post
    from shared.store.db import Database

    host = parse_qs(urlparse(database_url).query).get("host", [""])[0]
    if not host.startswith("/"):
        pytest.skip("the round-trip proxy needs the embedded server's unix socket")
    bid = make_profile()
    params = replace(runtime.params, holdback_share=0.5, epsilon_half_life=10, epsilon_min=0.01, learner=learner)
    proxy = RoundTripProxy(Path(host) / ".s.PGSQL.5432")
    db = Database(proxy.url, max_size=1)
    try:
        held: list[bool] = []
        # Until both arms have shown (each decision is a fair coin; 40 make a miss ~1e-12).
        for i in range(40):
            if i > 10 and any(held) and not all(held):
                break
            cmd = GenerateCommand(bid, f"rt-{i}", "linkedin", "AI tooling", np.asarray(embedding(i)), None, False)
            before = proxy.trips
            out = create_post(
                db, cmd, space=runtime.space, params=params, reward_config=runtime.reward_config, embedder=None,
                now=runtime.clock.now(),
            )  # fmt: skip
            if i > 0:  # the first one connects
                assert proxy.trips - before == 2
            held.append(out.decision.holdback)
        assert any(held) and not all(held)
    finally:
        db.close()
        proxy.close()


def test_a_decision_reads_the_preferences_of_its_own_time_bucket(gradient, functions, make_profile):
    """H is kept per platform and time bucket; a morning post is drawn from the morning's."""
    from shared.store.policy import apply_summed

    with gradient.db.transaction() as conn:
        apply_summed(conn, {("x", "morning", "TONE", "humorous"): 8.0, ("x", "evening", "TONE", "formal"): 8.0}, {})
    bid = make_profile(time_zone="UTC")
    drafts = {
        bucket: generate(functions, bid, bucket, "x", topic_embedding=embedding(3), scheduled_for=at(hours).isoformat())
        for bucket, hours in (("morning", 1), ("evening", 9))  # 10:00 and 18:00 UTC
    }
    for bucket, favoured in (("morning", "humorous"), ("evening", "formal")):
        pi = drafts[bucket]["probabilities"]["TONE"]
        assert decision_of(gradient, drafts[bucket]["post_id"])["time_bucket"] == bucket
        assert max(pi, key=pi.get) == favoured and pi[favoured] > 0.9, (bucket, pi)


@pytest.mark.parametrize("learner", ["bandit", "gradient"])
def test_an_ordinary_decision_stores_the_product_of_its_chosen_values_probabilities(
    runtime, functions, make_profile, learner
):
    runtime.params = replace(runtime.params, learner=learner)
    bid = make_profile()
    for i in range(5):
        post_id = generate(functions, bid, f"j{i}", "instagram", topic_embedding=embedding(i))["post_id"]
        joint, choices, holdback = fetch_one(
            runtime, "select joint_propensity, choices, holdback from decisions where post_id = %s", UUID(post_id)
        )
        assert holdback is False
        chosen = [c["pi"][c["values"].index(c["chosen"])] for c in choices]
        assert [c["propensity"] for c in choices] == chosen
        assert joint == pytest.approx(math.prod(chosen), rel=1e-12) and 0 < joint < 1
