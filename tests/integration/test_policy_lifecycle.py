"""Policy lifecycle (docs/lifecycle.md): export → import round-trips bit for bit,
snapshots and rollback restore a previous state as a new version, reset goes
back to the initial policy, and every change serialises with policy updates."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from pydantic import ValidationError

from shared.errors import Conflict, NotFound, PermanentError
from shared.faults import SimulatedCrash
from shared.policy_file import dumps, loads
from shared.services import lifecycle
from shared.services.learning import apply_update
from shared.store import policy as policy_store
from tests.support.functions import at, embedding, fetch_all, fetch_one, generate, metrics, state_digest
from tests.support.policy_states import awkward_state, bits, install, learn, same_state

POLICY_TABLES = ("policy_preferences", "policy_theta", "policy_baselines")


def test_export_then_import_gives_back_the_same_bits(runtime, gradient):
    state = awkward_state(runtime)
    install(runtime, state)
    text = dumps(lifecycle.export_policy(runtime.db, runtime.space, runtime.params, at(0)))
    assert json.loads(text)["schema_version"] == 3 and json.loads(text)["version"] == 5

    lifecycle.reset_policy(runtime.db, space=runtime.space, key="wipe", now=at(1))
    assert lifecycle.current_state(runtime.db, runtime.space).theta == {}
    out = lifecycle.import_policy(runtime.db, loads(text), space=runtime.space, key="restore", now=at(2))

    assert (out.kind, out.version, out.source_version, out.applied) == ("import", 7, 5, True)
    after = lifecycle.current_state(runtime.db, runtime.space)
    assert same_state(after, state)
    assert after.version == 7  # a new version: the version never goes back
    again = dumps(lifecycle.export_policy(runtime.db, runtime.space, runtime.params, at(0)))
    assert again == text.replace('"version": 5', '"version": 7')


def test_the_same_import_key_again_changes_nothing(runtime):
    install(runtime, awkward_state(runtime))
    doc = lifecycle.export_policy(runtime.db, runtime.space, runtime.params, at(0))
    first = lifecycle.import_policy(runtime.db, doc, space=runtime.space, key="k1", now=at(1))
    digest = state_digest(runtime)
    second = lifecycle.import_policy(runtime.db, doc, space=runtime.space, key="k1", now=at(2))
    assert second == replace(first, applied=False)
    assert state_digest(runtime) == digest
    with pytest.raises(Conflict):
        lifecycle.reset_policy(runtime.db, space=runtime.space, key="k1", now=at(3))
    # The snapshot a change saves first is named after its key: a manual snapshot holding that name refuses it.
    lifecycle.take_snapshot(runtime.db, key="k2/before", label="", space=runtime.space, now=at(4))
    with pytest.raises(Conflict) as taken:
        lifecycle.reset_policy(runtime.db, space=runtime.space, key="k2", now=at(5))
    assert taken.value.field == "key"
    assert lifecycle.current_state(runtime.db, runtime.space).version == first.version


def _doc_json(runtime) -> dict[str, Any]:
    install(runtime, awkward_state(runtime))
    raw: dict[str, Any] = json.loads(dumps(lifecycle.export_policy(runtime.db, runtime.space, runtime.params, at(0))))
    return raw


def test_a_file_of_another_action_space_is_refused_unless_allowed(runtime):
    raw = _doc_json(runtime)
    hooks = raw["action_space"]["dimensions"][0]
    hooks["values"] = [v for v in hooks["values"] if v != "curiosity_gap"] + ["listicle"]
    raw["theta"]["HOOK_TYPE"]["listicle"] = raw["theta"]["HOOK_TYPE"].pop("curiosity_gap")
    for platform in raw["preferences"].values():
        platform["morning"]["HOOK_TYPE"].pop("curiosity_gap", None)
    doc = loads(json.dumps(raw))
    digest = state_digest(runtime)

    with pytest.raises(Conflict) as refused:
        lifecycle.import_policy(runtime.db, doc, space=runtime.space, key="a", now=at(1))
    assert refused.value.field == "action_space"
    assert state_digest(runtime) == digest

    out = lifecycle.import_policy(runtime.db, doc, space=runtime.space, key="b", now=at(1), allow_mismatch=True)
    assert out.detail["dropped"] == ["HOOK_TYPE.listicle"] and out.detail["zeroed"] == ["HOOK_TYPE.curiosity_gap"]
    after = lifecycle.current_state(runtime.db, runtime.space)
    assert ("HOOK_TYPE", "listicle") not in after.theta and ("HOOK_TYPE", "curiosity_gap") not in after.theta
    assert bits(after.theta[("TONE", "casual")]) == bits(np.array(raw["theta"]["TONE"]["casual"]))


def test_a_file_of_another_context_dimension_is_refused(runtime):
    raw = _doc_json(runtime)
    raw["context_dim"] = 4
    raw["theta"] = {"TONE": {"casual": [0.0, 1.0, 2.0, 3.0]}}
    digest = state_digest(runtime)
    with pytest.raises(PermanentError) as refused:
        lifecycle.import_policy(runtime.db, loads(json.dumps(raw)), space=runtime.space, key="c", now=at(1))
    assert refused.value.field == "context_dim"
    assert state_digest(runtime) == digest


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.update(schema_version=4), "schema_version"),
        (lambda d: d["theta"]["TONE"].update(casual=[0.0] * 767), "theta"),
        (lambda d: d["baselines"]["x"].update(n=-1), "baselines.x.n"),
        (lambda d: d["preferences"].update(myspace={}), "preferences.myspace"),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d["theta"]["TONE"].update(sarcastic=[0.0] * 768), "theta"),
        (lambda d: d.pop("steps"), "steps"),
    ],
)
def test_an_invalid_file_is_refused_naming_the_field(runtime, change, path):
    raw = _doc_json(runtime)
    change(raw)
    with pytest.raises(ValidationError) as refused:
        loads(json.dumps(raw))
    assert any(".".join(str(p) for p in e["loc"]).startswith(path) or path in e["msg"] for e in refused.value.errors())


def test_a_file_with_a_non_finite_float_is_refused(runtime):
    text = json.dumps(_doc_json(runtime)).replace('"b": 0.123456789', '"b": NaN', 1)
    with pytest.raises(ValidationError):
        loads(text)


def test_an_import_that_fails_midway_leaves_the_policy_as_it_was(runtime, monkeypatch):
    doc = loads(json.dumps(_doc_json(runtime)))
    lifecycle.reset_policy(runtime.db, space=runtime.space, key="wipe", now=at(1))
    digest = state_digest(runtime)
    monkeypatch.setenv("LEARNER_FAULT_POINT", "lifecycle.after_write")
    monkeypatch.setenv("LEARNER_FAULT_ACTION", "raise")
    with pytest.raises(SimulatedCrash):
        lifecycle.import_policy(runtime.db, doc, space=runtime.space, key="crash", now=at(2))
    assert state_digest(runtime) == digest


def test_rollback_restores_a_snapshot_as_a_new_version(runtime, functions, clock, make_profile):
    bid = make_profile()
    learn(runtime, functions, clock, bid, 3)
    before = lifecycle.current_state(runtime.db, runtime.space)
    snap, created = lifecycle.take_snapshot(runtime.db, key="s3", label="three", space=runtime.space, now=at(30))
    assert created and (snap.version, snap.steps) == (3, 3)
    learn(runtime, functions, clock, bid, 2, start=3)
    moved = lifecycle.current_state(runtime.db, runtime.space)
    assert moved.version == 5 and not same_state(moved, before)

    out = lifecycle.rollback(runtime.db, space=runtime.space, key="rb", now=at(31), snapshot_id=snap.snapshot_id)

    assert (out.kind, out.version, out.snapshot_id, out.source_version) == ("rollback", 6, snap.snapshot_id, 3)
    after = lifecycle.current_state(runtime.db, runtime.space)
    assert after.version == 6 and same_state(after, before)
    saved = fetch_one(
        runtime, "select version, reason from policy_snapshots where snapshot_id = %s", out.saved_snapshot
    )
    assert saved == (5, "before_rollback")
    # Undo: rolling back to the state the rollback replaced gives version 5's state as version 7.
    undo = lifecycle.rollback(runtime.db, space=runtime.space, key="undo", now=at(32), version=5)
    assert undo.version == 7 and same_state(lifecycle.current_state(runtime.db, runtime.space), moved)


def test_learning_continues_after_a_rollback_and_every_version_is_used_once(runtime, functions, clock, make_profile):
    bid = make_profile()
    learn(runtime, functions, clock, bid, 2)
    lifecycle.take_snapshot(runtime.db, key="s2", label="", space=runtime.space, now=clock.now())
    learn(runtime, functions, clock, bid, 1, start=2)
    lifecycle.rollback(runtime.db, space=runtime.space, key="rb", now=at(31), version=2)
    learn(runtime, functions, clock, bid, 2, start=3)

    state = lifecycle.current_state(runtime.db, runtime.space)
    assert (state.version, state.steps) == (6, 4)  # 2 + 1 updates, a rollback to 2 steps, 2 more
    ledger = [r[0] for r in fetch_all(runtime, "select version_after from policy_updates order by 1")]
    log = [r[0] for r in fetch_all(runtime, "select version from policy_lifecycle")]
    assert ledger == [1, 2, 3, 5, 6] and log == [4]
    # Each decision names the version it read; a version names one state.
    versions = [r[0] for r in fetch_all(runtime, "select policy_version from decisions order by policy_version")]
    assert versions == [0, 0, 2, 4, 4]


def test_a_decision_records_the_version_whose_state_produced_its_scores(
    runtime, gradient, functions, clock, make_profile
):
    bid = make_profile()
    learn(runtime, functions, clock, bid, 3)
    lifecycle.take_snapshot(runtime.db, key="v3", label="", space=runtime.space, now=at(30))
    answer = generate(functions, bid, "probe", "instagram", topic_embedding=embedding(99))
    assert answer["policy_version"] == 3
    sid = fetch_one(runtime, "select snapshot_id from policy_snapshots where key = 'v3'")[0]
    h = {
        (d, v): x
        for d, v, x in fetch_all(
            runtime,
            "select dimension, value, h from policy_snapshot_preferences"
            " where snapshot_id = %s and platform = 'instagram' and time_bucket = %s",
            sid,
            answer["time_bucket"],
        )
    }
    theta = {
        (d, v): np.asarray(t)
        for d, v, t in fetch_all(
            runtime, "select dimension, value, theta from policy_snapshot_theta where snapshot_id = %s", sid
        )
    }
    x = np.asarray(fetch_one(runtime, "select x from decisions where post_id = %s", UUID(answer["post_id"]))[0])
    for dim, values in answer["explanation"].items():
        for value, parts in values.items():
            assert parts["h"] == h.get((dim, value), 0.0)
            assert parts["theta_x"] == pytest.approx(float(theta[(dim, value)] @ x), rel=0, abs=1e-12)


def test_reset_goes_back_to_the_initial_policy_and_keeps_what_it_replaced(runtime, functions, clock, make_profile):
    bid = make_profile()
    learn(runtime, functions, clock, bid, 2)
    before = lifecycle.current_state(runtime.db, runtime.space)
    out = lifecycle.reset_policy(runtime.db, space=runtime.space, key="r", now=at(30))
    after = lifecycle.current_state(runtime.db, runtime.space)
    assert (out.kind, out.version, after.version, after.steps) == ("reset", 3, 3, 0)
    assert after.preferences == {} and after.theta == {}
    assert set(after.baselines.values()) == {(0.0, 0)}
    answer = generate(functions, bid, "fresh", "instagram", topic_embedding=embedding(5))
    assert answer["policy_version"] == 3
    assert all(p == pytest.approx(1 / len(v)) for v in answer["probabilities"].values() for p in v.values())
    lifecycle.rollback(runtime.db, space=runtime.space, key="back", now=at(31), snapshot_id=out.saved_snapshot)
    assert same_state(lifecycle.current_state(runtime.db, runtime.space), before)


def test_rollback_errors_name_the_field_and_change_nothing(runtime):
    digest = state_digest(runtime)
    with pytest.raises(NotFound) as missing:
        lifecycle.rollback(runtime.db, space=runtime.space, key="x", now=at(1), snapshot_id=99)
    assert missing.value.field == "snapshot_id"
    with pytest.raises(NotFound) as no_version:
        lifecycle.rollback(runtime.db, space=runtime.space, key="y", now=at(1), version=12)
    assert no_version.value.field == "version"
    with pytest.raises(PermanentError):
        lifecycle.rollback(runtime.db, space=runtime.space, key="z", now=at(1))
    assert state_digest(runtime) == digest


def _blocked_backends(runtime) -> int:
    with runtime.db.transaction() as conn:
        row = conn.execute(
            "select count(*) from pg_stat_activity"
            " where datname = current_database() and cardinality(pg_blocking_pids(pid)) > 0"
        ).fetchone()
    return int(row[0])


def test_a_rollback_waits_for_the_version_lock_an_update_holds(runtime):
    snap, _ = lifecycle.take_snapshot(runtime.db, key="s", label="", space=runtime.space, now=at(0))
    done = threading.Event()
    with runtime.db.transaction() as conn:
        policy_store.lock_version(conn)  # what update_policy holds while it applies a group

        def roll() -> None:
            lifecycle.rollback(runtime.db, space=runtime.space, key="rb", now=at(1), snapshot_id=snap.snapshot_id)
            done.set()

        worker = threading.Thread(target=roll)
        worker.start()
        # The rollback is seen blocked behind this transaction's lock, not merely not done yet.
        deadline = time.monotonic() + 10
        while not _blocked_backends(runtime):
            assert time.monotonic() < deadline and not done.is_set()
            time.sleep(0.02)
        assert not done.is_set()
    worker.join(10)
    assert done.is_set()


def test_update_policy_saves_a_periodic_snapshot_every_n_versions(runtime, functions, clock, make_profile):
    bid = make_profile()
    clock.set(at(0))
    posts = [
        generate(functions, bid, f"p{i}", "x", topic_embedding=embedding(i), auto_publish=True)["post_id"]
        for i in range(3)
    ]
    clock.set(at(25))
    for post in posts:
        metrics(functions, post, at(24.5), likes=30, replies=2, follower_count=2000)
    for post in posts:
        apply_update(runtime.db, UUID(post), at(26), runtime.params, group=1, snapshot_every=2, space=runtime.space)
    rows = fetch_all(runtime, "select key, version, reason from policy_snapshots order by version")
    assert rows == [("periodic-v2", 2, "periodic")]


def test_rollbacks_and_resets_racing_updates_and_settlements_keep_every_version_once(
    runtime, functions, clock, make_profile
):
    """Lock order: a lifecycle change takes the version row, then the baselines in name order;
    compute_reward takes only the baselines, update_policy only the version row: no deadlock,
    no version used twice, no update lost."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    bid = make_profile()
    t0 = clock.now()
    posts = [
        generate(functions, bid, f"c{i}", ("x", "instagram")[i % 2], topic_embedding=embedding(i), auto_publish=True)[
            "post_id"
        ]
        for i in range(12)
    ]
    snap, _ = lifecycle.take_snapshot(runtime.db, key="start", label="", space=runtime.space, now=t0)
    clock.set(t0 + timedelta(hours=25))
    jobs = [("reward", p, i) for i, p in enumerate(posts)] + [("rollback", None, i) for i in range(3)]
    jobs += [("reset", None, 0)]
    barrier = Barrier(len(jobs))

    def run(job: tuple[str, str | None, int]) -> None:
        kind, post, i = job
        barrier.wait()
        if kind == "reward":
            metrics(functions, post, t0 + timedelta(hours=24.5), likes=10 + 13 * i, replies=1, saves=1)
            assert functions.post("update_policy", {"post_id": post})[0] == 200
        elif kind == "rollback":
            lifecycle.rollback(runtime.db, space=runtime.space, key=f"rb{i}", now=t0, snapshot_id=snap.snapshot_id)
        else:
            lifecycle.reset_policy(runtime.db, space=runtime.space, key="reset", now=t0)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        list(pool.map(run, jobs))

    version = lifecycle.current_state(runtime.db, runtime.space).version
    ledger = [r[0] for r in fetch_all(runtime, "select post_id from policy_updates")]
    versions = sorted(
        r[0]
        for r in fetch_all(
            runtime, "select version_after from policy_updates union all select version from policy_lifecycle"
        )
    )
    assert len(ledger) == len(posts) and versions == list(range(1, version + 1)) and version == len(posts) + 4
    n = fetch_one(runtime, "select sum(n) from policy_baselines")[0]
    assert 0 <= n <= len(posts)  # a reset or rollback between settlements restarts the counts
