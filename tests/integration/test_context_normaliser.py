"""The context normaliser in the product (docs/decisions.md item 48): decisions score
x' of the active normaliser and store the raw x with its version; updates step θ
along the x' of each decision's own version (H only for a decision made before
the active one); fitting is a lifecycle change, by hand or by the sweep, once."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID

import numpy as np
import pytest

from shared.core.normaliser import ContextNormaliser, FittedNormaliser, fit_normaliser
from shared.core.policy import LoggedUpdate, summed_step
from shared.policy_file import dumps, loads
from shared.services import lifecycle
from shared.services.sweeps import run_sweep
from shared.store import lifecycle as lifecycle_store
from shared.store import normalisers as normaliser_store
from shared.store import policy as policy_store
from shared.store import posts as post_store
from tests.support.functions import at, embedding, fetch_all, fetch_one, generate, metrics
from tests.support.policy_states import awkward_state, install, same_state


def stored_normaliser(rt, version: str) -> ContextNormaliser:
    """Read straight from the table (not through the product's cache)."""
    mean, basis, scale, w = fetch_one(
        rt, "select mean, basis, scale, platform_weight from context_normalisers where version = %s", version
    )
    scale = np.asarray(scale, dtype=np.float64)
    return ContextNormaliser(
        mean=np.asarray(mean, dtype=np.float64),
        basis=np.asarray(basis, dtype=np.float64).reshape(scale.size, -1),
        scale=scale,
        platform_weight=float(w),
    )


def decide(functions, bid, prefix: str, n: int, platform: str = "instagram", **extra: Any) -> list[str]:
    return [
        generate(
            functions,
            bid,
            f"{prefix}{i}",
            platform,
            topic_embedding=embedding(sum(map(ord, prefix)) * 100 + i),
            **extra,
        )["post_id"]
        for i in range(n)
    ]


def random_theta(rt, seed: int = 5) -> None:
    """θ rows for the whole action space (what learning would have made)."""
    rng = np.random.default_rng(seed)
    with rt.db.transaction() as conn:
        policy_store.lock_version(conn)
        policy_store.apply_summed(conn, {}, {pair: rng.normal(size=768) * 0.3 for pair in rt.space.pairs()})


def theta_rows(rt) -> dict[tuple[str, str], np.ndarray]:
    return {
        (d, v): np.asarray(t, dtype=np.float64)
        for d, v, t in fetch_all(rt, "select dimension, value, theta from policy_theta")
    }


def h_rows(rt) -> dict[tuple[str, str, str, str], float]:
    rows = fetch_all(rt, "select platform, time_bucket, dimension, value, h from policy_preferences")
    return {(p, tb, d, v): float(h) for p, tb, d, v, h in rows}


def fit(rt, key: str = "fit", hours: float = 1, **kw: Any) -> str:
    out = lifecycle.fit_context_normaliser(rt.db, space=rt.space, key=key, now=at(hours), **kw)
    assert out is not None and out.applied and out.kind == "normaliser"
    return str(out.detail["normaliser"])


def test_a_decision_scores_x_prime_of_the_active_normaliser_and_stores_the_raw_x(
    runtime, gradient, functions, make_profile
):
    bid = make_profile()
    before = decide(functions, bid, "w", 20)
    assert fetch_one(runtime, "select normaliser_version from decisions where post_id = %s", UUID(before[0])) == (None,)
    random_theta(runtime)
    version_before = fetch_one(runtime, "select version from policy_state")[0]

    version = fit(runtime, last=15)

    # A lifecycle change: one version, logged, the state before saved; θ starts afresh, one row active.
    assert fetch_one(runtime, "select version from policy_state")[0] == version_before + 1
    assert fetch_all(runtime, "select kind, detail->>'normaliser' from policy_lifecycle") == [("normaliser", version)]
    assert fetch_all(runtime, "select version, active, fitted_on from context_normalisers") == [(version, True, 15)]
    assert theta_rows(runtime) == {}
    assert fetch_one(runtime, "select count(*) from policy_snapshot_theta")[0] == len(runtime.space.pairs())

    random_theta(runtime, seed=6)
    post = generate(functions, bid, "after", "linkedin", topic_embedding=embedding(99))["post_id"]
    x, choices, used, bucket = fetch_one(
        runtime, "select x, choices, normaliser_version, time_bucket from decisions where post_id = %s", UUID(post)
    )
    assert used == version
    x = np.asarray(x, dtype=np.float64)
    xp = stored_normaliser(runtime, version).apply(x, "linkedin")
    assert np.linalg.norm(x - xp) > 1.0  # the stored x is raw, not x'
    theta = theta_rows(runtime)
    h = {(d, v): hh for (p, tb, d, v), hh in h_rows(runtime).items() if (p, tb) == ("linkedin", bucket)}
    differs_from_raw = False
    for c in choices:
        for i, value in enumerate(c["values"]):
            key = (c["dimension"], value)
            expected = h.get(key, 0.0) + float(theta[key] @ xp)
            assert math.isclose(c["scores"][i], expected, rel_tol=1e-9, abs_tol=1e-9)
            assert math.isclose(c["theta_x"][i], float(theta[key] @ xp), rel_tol=1e-9, abs_tol=1e-9)
            differs_from_raw |= not math.isclose(c["theta_x"][i], float(theta[key] @ x), abs_tol=1e-6)
    assert differs_from_raw


def test_a_decision_keeps_to_two_round_trips_with_a_normaliser_active_and_cached(runtime, database_url, make_profile):
    """Counted on the wire: a cache miss costs one more round trip, once per instance and version."""
    from pathlib import Path
    from urllib.parse import parse_qs, urlparse

    from benchmarks.rtcount import RoundTripProxy
    from shared.services.generation import GenerateCommand, create_post
    from shared.store.db import Database

    host = parse_qs(urlparse(database_url).query).get("host", [""])[0]
    if not host.startswith("/"):
        pytest.skip("the round-trip proxy needs the embedded server's unix socket")
    bid = make_profile()
    fitted = _fitted(seed=11)
    install(runtime, replace(awkward_state(runtime), normaliser=fitted))
    proxy = RoundTripProxy(Path(host) / ".s.PGSQL.5432")
    db = Database(proxy.url, max_size=1)
    try:
        trips = []
        for i in range(6):
            if i == 1:
                normaliser_store._cache.clear()  # a new instance: the arrays are not here yet
            cmd = GenerateCommand(bid, f"rt-{i}", "linkedin", "AI tooling", np.asarray(embedding(i)), None, False)
            before = proxy.trips
            out = create_post(
                db, cmd, space=runtime.space, params=runtime.params, reward_config=runtime.reward_config,
                embedder=None, now=runtime.clock.now(),
            )  # fmt: skip
            trips.append(proxy.trips - before)
            assert out.decision.normaliser_version == fitted.normaliser.version
        assert trips[1:] == [3, 2, 2, 2, 2]  # i = 0 also connects
    finally:
        db.close()
        proxy.close()


def _fitted(seed: int) -> FittedNormaliser:
    xs = np.random.default_rng(seed).normal(size=(40, 768))
    return FittedNormaliser(fit_normaliser(xs), at(0), 40)


def _logged(rt, post_ids: list[str], normaliser: ContextNormaliser | None) -> list[LoggedUpdate]:
    """Each post's update as docs/spec.md §4 states it, with x mapped through ``normaliser``."""
    out = []
    for post in post_ids:
        value, before = fetch_one(rt, "select value, baseline_before from rewards where post_id = %s", UUID(post))
        with rt.db.transaction() as conn:
            d = post_store.get_decision(conn, UUID(post))
        assert d is not None
        x = d.x if normaliser is None else normaliser.apply(d.x, d.platform)
        out.append(LoggedUpdate(d.platform, d.time_bucket, d.choices, x, value - before))
    return out


def test_the_update_steps_theta_along_x_prime_and_a_decision_made_before_the_fit_only_h(
    runtime, gradient, functions, make_profile, clock
):
    bid = make_profile()
    t0 = clock.now()
    old = decide(functions, bid, "old", 12, auto_publish=True)
    version = fit(runtime, last=12)
    new = decide(functions, bid, "new", 4, auto_publish=True)
    assert {r[0] for r in fetch_all(runtime, "select normaliser_version from decisions")} == {None, version}
    clock.set(t0 + timedelta(hours=25))

    # The decisions made before the fit: H learns, θ (reset for the new x') does not.
    for i, post in enumerate(old):
        metrics(functions, post, t0 + timedelta(hours=24.5), likes=30 + 25 * (i % 3), saves=i, follower_count=4000)
    status, answer = functions.post("update_policy", {"post_id": old[0]})
    assert status == 200 and answer["applied"] is True, answer
    assert fetch_one(runtime, "select count(*) from policy_updates")[0] == len(old)  # one group
    expected_h, _ = summed_step(_logged(runtime, old, None), runtime.params)
    assert theta_rows(runtime) == {}
    got_h = h_rows(runtime)
    assert got_h.keys() == expected_h.keys()
    assert all(math.isclose(got_h[k], expected_h[k], rel_tol=1e-12, abs_tol=1e-15) for k in expected_h)

    # The decisions made with the active normaliser: θ steps along their x'.
    for i, post in enumerate(new):
        metrics(functions, post, t0 + timedelta(hours=24.5), likes=90 - 20 * i, comments=i, follower_count=4000)
    status, answer = functions.post("update_policy", {"post_id": new[0]})
    assert status == 200 and answer["applied"] is True, answer
    n = stored_normaliser(runtime, version)
    dh, dtheta = summed_step(_logged(runtime, new, n), runtime.params)
    theta = theta_rows(runtime)
    assert theta.keys() == dtheta.keys()
    for key, step in dtheta.items():
        np.testing.assert_allclose(theta[key], step, rtol=1e-12, atol=1e-15)
    _, raw = summed_step(_logged(runtime, new, None), runtime.params)
    assert not all(np.allclose(theta[k], raw[k]) for k in raw)  # not the step along the raw x
    got_h = h_rows(runtime)
    for hkey, delta in dh.items():
        assert math.isclose(got_h[hkey], expected_h.get(hkey, 0.0) + delta, rel_tol=1e-12, abs_tol=1e-15)
    # Idempotent: a redelivery changes nothing.
    status, again = functions.post("update_policy", {"post_id": new[1]})
    assert status == 200 and again["applied"] is False
    assert all(np.array_equal(theta_rows(runtime)[k], theta[k]) for k in theta)


def test_the_sweep_fits_once_at_the_threshold_even_when_two_sweeps_overlap(runtime, functions, make_profile):
    bid = make_profile()
    decide(functions, bid, "s", 6)
    sweep = dict(limit=50, space=runtime.space)
    assert (
        run_sweep(
            runtime.db, runtime.tasks, at(1), runtime.reward_config, runtime.params, **sweep, normaliser_fit_after=7
        ).normaliser
        is None
    )
    assert (
        run_sweep(
            runtime.db, runtime.tasks, at(1), runtime.reward_config, runtime.params, **sweep, normaliser_fit_after=0
        ).normaliser
        is None
    )
    assert fetch_all(runtime, "select version from context_normalisers") == []
    version_before = fetch_one(runtime, "select version from policy_state")[0]

    barrier = threading.Barrier(2)
    runs: list[Any] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            barrier.wait()
            runs.append(
                run_sweep(
                    runtime.db,
                    runtime.tasks,
                    at(2),
                    runtime.reward_config,
                    runtime.params,
                    **sweep,
                    normaliser_fit_after=6,
                )
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    fitted = [r.normaliser for r in runs if r.normaliser is not None]
    assert len(fitted) == 1
    assert fetch_all(runtime, "select version, active, fitted_on from context_normalisers") == [(fitted[0], True, 6)]
    assert fetch_all(runtime, "select kind, key from policy_lifecycle") == [("normaliser", lifecycle.AUTO_FIT_KEY)]
    assert fetch_one(runtime, "select version from policy_state")[0] == version_before + 1

    # Fitted once: later sweeps, and a guarded fit under another key, change nothing.
    decide(functions, bid, "t", 3)
    assert (
        run_sweep(
            runtime.db, runtime.tasks, at(3), runtime.reward_config, runtime.params, **sweep, normaliser_fit_after=6
        ).normaliser
        is None
    )
    assert (
        lifecycle.fit_context_normaliser(runtime.db, space=runtime.space, key="k", now=at(3), only_first=True) is None
    )
    assert fetch_one(runtime, "select version from policy_state")[0] == version_before + 1


def test_a_rollback_brings_back_the_normaliser_of_its_snapshot(runtime, functions, make_profile):
    bid = make_profile()
    decide(functions, bid, "r", 10)
    random_theta(runtime)
    theta_before = theta_rows(runtime)
    version = fit(runtime)
    saved = fetch_one(runtime, "select saved_snapshot from policy_lifecycle where kind = 'normaliser'")[0]
    lifecycle.rollback(runtime.db, space=runtime.space, key="back", now=at(2), snapshot_id=saved)
    assert fetch_all(runtime, "select version from context_normalisers where active") == []
    assert all(np.array_equal(theta_rows(runtime)[k], theta_before[k]) for k in theta_before)
    post = decide(functions, bid, "raw", 1)[0]
    assert fetch_one(runtime, "select normaliser_version from decisions where post_id = %s", UUID(post)) == (None,)
    # The rollback's own saved state had the normaliser: rolling that back activates it again.
    saved2 = fetch_one(runtime, "select saved_snapshot from policy_lifecycle where kind = 'rollback'")[0]
    assert fetch_one(runtime, "select normaliser_version from policy_snapshots where snapshot_id = %s", saved2) == (
        version,
    )
    lifecycle.rollback(runtime.db, space=runtime.space, key="again", now=at(3), snapshot_id=saved2)
    assert fetch_all(runtime, "select version from context_normalisers where active") == [(version,)]


def test_export_then_import_gives_back_the_normaliser_bit_for_bit(runtime, gradient):
    fitted = _fitted(seed=4)
    state = replace(awkward_state(runtime), normaliser=fitted)
    install(runtime, state)
    text = dumps(lifecycle.export_policy(runtime.db, runtime.space, runtime.params, at(0)))
    doc = json.loads(text)
    assert doc["schema_version"] == 3 and doc["normaliser"]["version"] == fitted.normaliser.version

    # A schema 1 file has no normaliser: importing it makes θ·x use the raw x again.
    v1 = {k: v for k, v in doc.items() if k != "normaliser"} | {"schema_version": 1}
    lifecycle.import_policy(runtime.db, loads(json.dumps(v1)), space=runtime.space, key="v1", now=at(1))
    assert fetch_all(runtime, "select version from context_normalisers where active") == []

    out = lifecycle.import_policy(runtime.db, loads(text), space=runtime.space, key="v2", now=at(2))
    assert out.applied
    after = lifecycle.current_state(runtime.db, runtime.space)
    assert same_state(after, state) and after.normaliser is not None
    got = after.normaliser.normaliser
    for name in ("mean", "basis", "scale"):
        assert getattr(got, name).tobytes() == getattr(fitted.normaliser, name).tobytes()
    assert (after.normaliser.fitted_at, after.normaliser.fitted_on) == (fitted.fitted_at, fitted.fitted_on)
    again = dumps(lifecycle.export_policy(runtime.db, runtime.space, runtime.params, at(0)))
    assert again == text.replace(f'"version": {doc["version"]}', f'"version": {after.version}')


def test_a_file_whose_normaliser_does_not_match_its_version_is_refused(runtime):
    from pydantic import ValidationError

    install(runtime, replace(awkward_state(runtime), normaliser=_fitted(seed=8)))
    doc = json.loads(dumps(lifecycle.export_policy(runtime.db, runtime.space, runtime.params, at(0))))
    doc["normaliser"]["scale"][0] *= 2
    with pytest.raises(ValidationError, match="does not match"):
        loads(json.dumps(doc))


def test_reset_keeps_the_normaliser(runtime):
    install(runtime, replace(awkward_state(runtime), normaliser=_fitted(seed=9)))
    lifecycle.reset_policy(runtime.db, space=runtime.space, key="wipe", now=at(1))
    with runtime.db.transaction() as conn:
        assert lifecycle_store.active_normaliser(conn) is not None
    assert theta_rows(runtime) == {}


def test_off_policy_evaluation_scores_the_current_policy_on_x_prime(runtime, gradient, functions, make_profile, clock):
    from shared.core.off_policy import evaluate
    from shared.core.target_policies import SoftmaxPolicy
    from shared.services.evaluation import SEED, current_policy_name, evaluate_logged
    from shared.store import evaluation as evaluation_store
    from tests.support.policy_states import learn

    learn(runtime, functions, clock, make_profile(), 24)
    version = fit(runtime, hours=30)
    random_theta(runtime, seed=7)
    result = evaluate_logged(runtime.db, runtime.space, what_ifs=[], n_boot=50)
    with runtime.db.transaction() as conn:
        logged = evaluation_store.load_logged(conn, 5000)
        current = evaluation_store.load_current_policy(conn)
    assert current.normaliser is not None and current.normaliser.version == version
    tau, epsilon = current.tau, current.epsilon
    assert tau is not None and epsilon is not None

    def estimates(normaliser: ContextNormaliser | None) -> list[float]:
        name = current_policy_name(current.version)
        policy = SoftmaxPolicy(name, current.preferences, current.theta, tau, epsilon, normaliser=normaliser)
        return [e.value for e in evaluate(logged, [policy], np.random.default_rng(SEED), n_boot=50)]

    got = [e.value for e in result.estimates if e.policy.startswith("current policy")]
    assert got == estimates(stored_normaliser(runtime, version))
    assert got != estimates(None)
