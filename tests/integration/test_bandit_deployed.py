"""The reward-model learner as deployed (docs/learning.md): generate_post and update_policy
go through the library class ``shared.core.bandit.RidgeIGW``, its state lives in Postgres as
arrays, and every lifecycle step carries them.

Each test checks the database against the library itself: what the decision logged is
what the library chooses from the stored state; the stored state after N updates is the
library's own after learning the same N rewards.
"""

from __future__ import annotations

import threading
from uuid import UUID

import numpy as np
import pytest

from shared.core.action_space import ActionSpace, Dimension
from shared.core.bandit import DEFAULT_RANK, Decision, Outcome, RidgeIGW, bandit_params
from shared.policy_file import dumps, loads
from shared.services import learner_state, lifecycle
from shared.services.learner_state import CHECKPOINT_GROUPS
from shared.store.learner import joined, read_arrays, read_statistics
from tests.support.functions import at, embedding, fetch_all, fetch_one, generate, metrics


def stored(runtime) -> dict[str, np.ndarray]:
    """The solution a decision reads, as stored at the current version."""
    with runtime.db.transaction() as conn:
        return read_arrays(conn)


def checkpoint(runtime) -> tuple[int, dict[str, np.ndarray]]:
    with runtime.db.transaction() as conn:
        return read_statistics(conn)


def full(runtime) -> dict[str, np.ndarray]:
    """The whole state at the current version (the checkpoint made current, as export does)."""
    return lifecycle.current_state(runtime.db, runtime.space).arrays


def library(runtime, state: dict[str, np.ndarray] | None = None) -> RidgeIGW:
    return RidgeIGW.from_state(runtime.space, bandit_params(runtime.params), DEFAULT_RANK, state or {})


def outcomes(runtime, posts: list[str]) -> list[Outcome]:
    """What the library learns from each post: its logged decision (no normaliser yet, so
    components 0), the business and the final reward."""
    out = []
    for post in posts:
        platform, bucket, choices, business, reward = fetch_one(
            runtime,
            "select d.platform, d.time_bucket, d.choices, p.business_id, r.value"
            " from decisions d join posts p using (post_id) join rewards r using (post_id) where post_id = %s",
            UUID(post),
        )
        chosen = {c["dimension"]: c["chosen"] for c in choices}
        action = tuple(d.index(chosen[d.name]) for d in runtime.space.dimensions)
        out.append(Outcome(Decision(platform, bucket, np.zeros(0), action, str(business)), float(reward)))
    return out


@pytest.fixture
def rewarded(runtime, functions, make_profile, clock):
    """``count`` posts of two businesses published at START, rewards computed at 24 h, in post order."""

    def make(count: int, prefix: str = "b") -> list[str]:
        businesses = [make_profile(), make_profile()]
        posts = [
            generate(
                functions,
                businesses[i % 2],
                f"{prefix}{i}",
                ("linkedin", "x", "instagram")[i % 3],
                topic_embedding=embedding(40 + i),
                auto_publish=True,
            )["post_id"]
            for i in range(count)
        ]
        clock.set(at(24))
        for i, post in enumerate(posts):
            answer = metrics(functions, post, at(24), likes=3 + 37 * (i % 4), comments=i % 3, follower_count=5000)
            assert answer["reward"] == "computed"
        return posts

    return make


def test_the_default_learner_is_the_bandit_and_a_decision_logs_what_the_library_chooses(runtime, functions, rewarded):
    assert runtime.params.learner == "bandit"
    posts = rewarded(12)
    assert functions.post("update_policy", {"post_id": posts[0]})[1]["applied"] is True
    business = fetch_one(runtime, "select business_id from posts where post_id = %s", UUID(posts[1]))[0]
    answer = generate(functions, business, "after", "linkedin", topic_embedding=embedding(99))
    seed, learner_kind, tau, epsilon, choices, propensity, platform, bucket = fetch_one(
        runtime,
        "select seed, learner, tau, epsilon, choices, joint_propensity, platform, time_bucket"
        " from decisions where post_id = %s",
        UUID(answer["post_id"]),
    )
    assert (learner_kind, tau, epsilon) == ("bandit", None, runtime.params.epsilon)
    state = stored(runtime)
    assert {"theta", "meta", f"business/{business}/v"} <= state.keys() and "a" not in state
    expected = library(runtime, state).choose(platform, bucket, np.zeros(0), seed, business=str(business))
    assert [c["chosen"] for c in choices] == [c.chosen for c in expected.choices]
    assert [c["pi"] for c in choices] == [list(c.pi) for c in expected.choices]
    assert propensity == pytest.approx(expected.joint_propensity, rel=1e-12)
    # The explanation adds up: each score is the value's own term plus the rest of the greedy recipe.
    for c in choices:
        assert np.allclose(np.add(c["h"], c["theta_x"]), c["scores"])


def test_the_stored_state_after_n_updates_is_the_librarys_after_the_same_n(runtime, functions, rewarded):
    posts = rewarded(20)
    # The first delivery takes every pending reward (its own first, then in reward order) as one group.
    status, first = functions.post("update_policy", {"post_id": posts[5]})
    assert (status, first["applied"], first["version"]) == (200, True, 1)
    order = [str(p) for (p,) in fetch_all(runtime, "select post_id from policy_updates order by version_after")]
    assert len(order) == 20 and order[0] == posts[5]
    learner = library(runtime)
    learner.learn(outcomes(runtime, order))
    # The first group of a new learner is checkpointed at once: the whole state is stored.
    version, state = checkpoint(runtime)
    mine = learner.state()
    assert version == 20 and state.keys() == mine.keys()
    for name, arr in mine.items():
        assert np.array_equal(state[name], np.ravel(arr)), name
    assert stored(runtime).keys() == learner.solution().keys()
    # Redelivering any of them changes nothing.
    for post in posts:
        assert functions.post("update_policy", {"post_id": post})[1]["applied"] is False
    again = full(runtime)
    assert all(np.array_equal(again[k], state[k]) for k in state)


def test_between_checkpoints_the_state_is_the_checkpoint_plus_the_ledgers_groups(runtime, functions, rewarded):
    posts = rewarded(CHECKPOINT_GROUPS + 3)
    # One delivery per group: the first takes every pending reward, so deliver them as they settle.
    with runtime.db.transaction() as conn:
        conn.execute("update rewards set policy_applied = true where post_id <> %s", (UUID(posts[0]),))
    learner = library(runtime)
    for i, post in enumerate(posts):
        if i > 0:
            with runtime.db.transaction() as conn:
                conn.execute("update rewards set policy_applied = false where post_id = %s", (UUID(post),))
        if i % 2:  # every other delivery as a new instance would make it: checkpoint + the groups since
            learner_state.clear_cache()
        assert functions.post("update_policy", {"post_id": post})[1]["applied"] is True
        learner.learn(outcomes(runtime, [post]))
        solution = stored(runtime)
        for name, arr in learner.solution().items():
            assert np.array_equal(solution[name], arr), (i, name)
    # Checkpoints after the first group (a fresh start) and CHECKPOINT_GROUPS groups later.
    version, _ = checkpoint(runtime)
    assert version == 1 + CHECKPOINT_GROUPS
    whole = full(runtime)
    for name, arr in learner.state().items():
        assert np.array_equal(whole[name], np.ravel(arr)), name
    assert checkpoint(runtime)[0] == len(posts)  # export made the checkpoint current


def test_concurrent_deliveries_learn_each_reward_once(runtime, functions, rewarded):
    posts = rewarded(16)
    answers: list[dict[str, object]] = []

    def deliver(post: str) -> None:
        for _ in range(2):  # every task delivered twice
            answers.append(functions.post("update_policy", {"post_id": post})[1])

    threads = [threading.Thread(target=deliver, args=(p,)) for p in posts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(str(p) for (p,) in fetch_all(runtime, "select post_id from policy_updates")) == sorted(posts)
    state = full(runtime)
    steps, weight = state["meta"][0], state["meta"][1]
    assert steps == 16
    # Each reward counted once in the shared weight (forgetting discounts it a little): ≤ 16, > 15.
    assert 15 < weight <= 16
    weights = [state[k][0] for k in state if k.endswith("/weight")]
    assert len(weights) == 2 and sum(weights) == pytest.approx(weight)


def test_snapshots_rollback_reset_and_export_import_carry_the_arrays_bit_for_bit(runtime, functions, rewarded):
    posts = rewarded(8)
    functions.post("update_policy", {"post_id": posts[0]})
    before = full(runtime)
    snap, created = lifecycle.take_snapshot(runtime.db, key="s1", label="", space=runtime.space, now=at(30))
    assert created
    text = dumps(lifecycle.export_policy(runtime.db, runtime.space, runtime.params, at(30)))
    lifecycle.reset_policy(runtime.db, space=runtime.space, key="wipe", now=at(31))
    assert stored(runtime) == {} and checkpoint(runtime)[1] == {}
    lifecycle.rollback(runtime.db, space=runtime.space, key="back", now=at(32), snapshot_id=snap.snapshot_id)
    restored = full(runtime)
    assert stored(runtime).keys() == {k for k in before if RidgeIGW.is_solution(k)}
    assert restored.keys() == before.keys()
    assert all(np.array_equal(restored[k], before[k]) for k in before)
    lifecycle.reset_policy(runtime.db, space=runtime.space, key="wipe-2", now=at(33))
    outcome = lifecycle.import_policy(runtime.db, loads(text), space=runtime.space, key="imp", now=at(34))
    assert outcome.detail["learner_arrays"] == "imported"
    imported = full(runtime)
    assert imported.keys() == before.keys()
    assert all(np.array_equal(imported[k], before[k]) for k in before)


def test_an_import_whose_arrays_do_not_fit_the_space_is_refused_and_changes_nothing(runtime, functions, rewarded):
    posts = rewarded(4)
    functions.post("update_policy", {"post_id": posts[0]})
    doc = lifecycle.export_policy(runtime.db, runtime.space, runtime.params, at(30))
    broken = doc.model_copy(update={"learner_arrays": {**doc.learner_arrays, "theta": [0.5, 0.25]}})
    before = full(runtime)
    with pytest.raises(Exception, match="learner_arrays") as refused:
        lifecycle.import_policy(runtime.db, broken, space=runtime.space, key="bad", now=at(31))
    assert getattr(refused.value, "field", None) == "learner_arrays"
    after = full(runtime)
    assert all(np.array_equal(after[k], before[k]) for k in before)


def test_a_new_normaliser_makes_the_learner_forget_x_prime_and_nothing_else(runtime, functions, rewarded):
    posts = rewarded(10)
    functions.post("update_policy", {"post_id": posts[0]})
    before = full(runtime)
    lifecycle.fit_context_normaliser(runtime.db, space=runtime.space, key="fit", now=at(30))
    expected = library(runtime, before)
    expected.forget_context()
    after = full(runtime)
    for name, arr in expected.state().items():
        assert np.allclose(after[name], np.ravel(arr)), name
    # A decision after the fit sees x through it: its components enter the scores.
    business = fetch_one(runtime, "select business_id from posts where post_id = %s", UUID(posts[0]))[0]
    answer = generate(functions, business, "after-fit", "x", topic_embedding=embedding(7))
    version = fetch_one(runtime, "select normaliser_version from decisions where post_id = %s", UUID(answer["post_id"]))
    assert version[0] is not None


def test_a_new_action_space_starts_the_learner_afresh_and_keeps_the_old_state_as_a_snapshot(
    runtime, functions, rewarded, clock
):
    posts = rewarded(6)
    functions.post("update_policy", {"post_id": posts[0]})
    before = full(runtime)
    old_space = runtime.space
    tone = old_space.dimension("TONE")
    narrower = Dimension(tone.name, tone.values[:-1], tone.labels[:-1])
    runtime.space = ActionSpace("narrower", tuple(narrower if d.name == "TONE" else d for d in old_space.dimensions))
    try:
        business = fetch_one(runtime, "select business_id from posts where post_id = %s", UUID(posts[0]))[0]
        made = [
            generate(functions, business, f"n{i}", "x", topic_embedding=embedding(60 + i), auto_publish=True)
            for i in range(3)
        ]
        # Chosen as a new learner would: every value of every dimension equally likely.
        for post in made:
            choices = fetch_one(runtime, "select choices from decisions where post_id = %s", UUID(post["post_id"]))[0]
            for c in choices:
                assert c["pi"] == pytest.approx([1 / len(c["values"])] * len(c["values"]))
        clock.set(at(48))
        for post in made:
            metrics(functions, post["post_id"], at(48), likes=10, comments=1, follower_count=5000)
        assert functions.post("update_policy", {"post_id": made[0]["post_id"]})[1]["applied"] is True
        (sid,) = fetch_one(runtime, "select snapshot_id from policy_snapshots where reason = 'before_space_change'")
        kept = joined(
            fetch_all(runtime, "select name, part, data from policy_snapshot_arrays where snapshot_id = %s", sid)
        )
        assert kept.keys() == before.keys() and all(np.array_equal(kept[k], before[k]) for k in before)
        # The new state is the new space's: a learner of the narrower space reads it.
        fresh, fitted = RidgeIGW.restore(runtime.space, bandit_params(runtime.params), DEFAULT_RANK, full(runtime))
        assert fitted and fresh.steps == 3
    finally:
        runtime.space = old_space
