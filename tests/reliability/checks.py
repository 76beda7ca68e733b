"""Independent checks of the whole database against docs/spec.md §6–§7.

Each check reads the tables with its own SQL and recomputes what the state
must be from docs/spec.md's formulas (tests/support/functions.py), so it can
disagree with the product. ``violations`` returns readable lines; a test
asserts the list is empty, and the controls assert it is not.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from shared.core.bandit import DEFAULT_RANK, Decision, Outcome, RidgeIGW, bandit_params
from shared.store import normalisers
from shared.store.learner import joined
from tests.support.functions import ALPHA_H, ALPHA_THETA, BETA, fetch_all, fetch_one


def _q(rt: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return fetch_all(rt, sql, *params)


def lifecycle_violations(rt: Any) -> list[str]:
    """Posts ⇔ decisions; published ⇔ reward ⇔ reward task; final value ⇔ baseline fold ⇔ update task."""
    out: list[str] = []
    checks = {
        "post without its decision": "select post_id from posts left join decisions using (post_id)"
        " where decisions.post_id is null",
        "published post without a reward": "select post_id from posts left join rewards r using (post_id)"
        " where posts.status <> 'generated' and r.post_id is null",
        "reward of an unpublished post": "select post_id from rewards join posts using (post_id)"
        " where posts.status = 'generated'",
        "reward without its compute_reward task": "select post_id from rewards r where not exists"
        " (select 1 from outbox o where o.task_name = 'compute_reward-' || r.post_id)",
        "compute_reward task without a reward": "select task_name from outbox o where target = 'compute_reward'"
        " and not exists (select 1 from rewards r where o.task_name = 'compute_reward-' || r.post_id)",
        "reward value without its update_policy task": "select post_id from rewards r where value is not null"
        " and not exists (select 1 from outbox o where o.task_name = 'update_policy-' || r.post_id)",
        "update_policy task without a reward value": "select task_name from outbox o where target = 'update_policy'"
        " and not exists (select 1 from rewards r where r.value is not null"
        " and o.task_name = 'update_policy-' || r.post_id)",
        "final reward without a baseline fold": "select post_id from rewards where value is not null"
        " and (baseline_before is null or baseline_after is null)",
        "baseline fold without a value": "select post_id from rewards where value is null"
        " and (baseline_before is not null or baseline_after is not null)",
        "pending reward with a value": "select post_id from rewards where status = 'pending' and value is not null",
        "ledger row of a reward without a value": "select u.post_id from policy_updates u join rewards r"
        " using (post_id) where r.value is null or r.value <> u.reward",
        "snapshot of an unpublished post": "select snapshot_id from snapshots join posts using (post_id)"
        " where posts.posted_at is null",
    }
    for name, sql in checks.items():
        rows = _q(rt, sql)
        if rows:
            out.append(f"{name}: {len(rows)} (e.g. {rows[0][0]})")
    return out


def baseline_violations(rt: Any) -> list[str]:
    """Each platform's baseline is the chain of its folds, one per reward value, from 0."""
    out: list[str] = []
    rewards: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for platform, value, before, after in _q(
        rt,
        "select p.platform, r.value, r.baseline_before, r.baseline_after from rewards r join posts p using (post_id)"
        " where r.value is not null",
    ):
        rewards[platform].append((float(value), float(before), float(after)))
    for platform, b, n in _q(rt, "select platform, b, n from policy_baselines"):
        folds = rewards.get(platform, [])
        if int(n) != len(folds):
            out.append(f"baseline {platform}: n = {n}, but {len(folds)} reward values were folded")
            continue
        by_before = defaultdict(list)
        for fold in folds:
            by_before[fold[1]].append(fold)
        current, used = 0.0, 0
        while used < len(folds):
            nexts = by_before.get(current, [])
            # Folds of r = b leave b where it was; they fit anywhere b had that value.
            still = [f for f in nexts if f[2] == current]
            moving = [f for f in nexts if f[2] != current]
            if not nexts or len(moving) > 1:
                out.append(f"baseline {platform}: after {used} folds, {len(moving)} folds start from b = {current}")
                break
            for value, before, after in still + moving[:1]:
                if not np.isclose(after, before + BETA * (value - before), rtol=0, atol=1e-12):
                    out.append(f"baseline {platform}: fold {before} → {after} is not b + β(r − b) for r = {value}")
            used += len(still) + len(moving[:1])
            by_before[current] = []
            if moving:
                current = moving[0][2]
        else:
            if current != float(b):
                out.append(f"baseline {platform}: chain ends at {current}, stored b = {b}")
    return out


def expected_policy(rt: Any) -> tuple[dict[tuple[str, str, str, str], float], dict[tuple[str, str], np.ndarray]]:
    """H and θ as the sum of one docs/spec.md §4 step per ledger row (from the decision's x and logged π⁰)."""
    h: dict[tuple[str, str, str, str], float] = defaultdict(float)
    theta: dict[tuple[str, str], np.ndarray] = {}
    rows = _q(
        rt,
        "select d.platform, d.time_bucket, d.x, d.choices, r.value, r.baseline_before"
        " from policy_updates u join decisions d using (post_id) join rewards r using (post_id)",
    )
    for platform, bucket, x, choices, value, before in rows:
        advantage = float(value) - float(before)
        xs = np.asarray(x, dtype=np.float64)
        for choice in choices:
            for v, pi0 in zip(choice["values"], choice["pi0"], strict=True):
                g = (1.0 if v == choice["chosen"] else 0.0) - float(pi0)
                h[(platform, bucket, choice["dimension"], v)] += ALPHA_H * advantage * g
                key = (choice["dimension"], v)
                step = ALPHA_THETA * advantage * g * xs
                theta[key] = theta[key] + step if key in theta else step
    return dict(h), theta


def expected_bandit_state(rt: Any, checkpoint: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The library learner after learning the ledger's groups in version order, from nothing:
    (its solution at the end, its whole state as of version ``checkpoint``). Each reward
    teaches its decision's action (by the current space), business and final reward, with
    x's components under the normaliser active when it was learned if the decision was made
    under it (else 0); a normaliser fit in between forgets x' (``forget_context``). Only
    normaliser fits are replayed: rollback, reset and import replace the state wholesale."""
    rows = _q(
        rt,
        "select u.version_after, u.group_version, d.platform, d.time_bucket, d.x, d.choices,"
        " d.normaliser_version, p.business_id, r.value"
        " from policy_updates u join decisions d using (post_id) join posts p using (post_id)"
        " join rewards r using (post_id) order by u.version_after",
    )
    fits = [(int(v), n) for v, n in _q(rt, "select version, detail->>'normaliser' from policy_lifecycle")]
    learner = RidgeIGW.from_state(rt.space, bandit_params(rt.params), DEFAULT_RANK, {})
    groups: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        groups[int(row[1])].append(row)
    ends = {g: max(int(r[0]) for r in rs) for g, rs in groups.items()}
    events = sorted([(v, "group", v) for v in groups] + [(v, "fit", n) for v, n in fits], key=lambda e: e[0])
    active: str | None = None
    at_checkpoint = learner.state()
    for _, kind, what in events:
        if kind == "fit":
            active = str(what)
            learner.forget_context()
        else:
            normaliser = None
            if active is not None:
                with rt.db.transaction() as conn:
                    normaliser = normalisers.fetch(conn, {active})[active]
            batch = []
            for _, _, platform, bucket, x, choices, made_under, business, value in groups[int(what)]:
                chosen = {c["dimension"]: c["chosen"] for c in choices}
                action = tuple(d.index(chosen[d.name]) for d in rt.space.dimensions)
                components = (
                    normaliser.components(np.asarray(x, dtype=np.float64))
                    if normaliser is not None and made_under == active
                    else np.zeros(0)
                )
                batch.append(Outcome(Decision(platform, bucket, components, action, str(business)), float(value)))
            learner.learn(batch)
        version = int(what) if kind == "fit" else ends[int(what)]
        if version <= checkpoint:
            at_checkpoint = learner.state()
    return learner.solution(), {k: np.ravel(v) for k, v in at_checkpoint.items()}


def _compare(what: str, stored: dict[str, np.ndarray], want: dict[str, np.ndarray], atol: float) -> list[str]:
    out = [f"{what} {k} is stored but the ledger gives none" for k in sorted(stored.keys() - want.keys())]
    out += [f"{what} {k} is missing (the ledger gives one)" for k in sorted(want.keys() - stored.keys())]
    for k in sorted(stored.keys() & want.keys()):
        if stored[k].shape != want[k].shape or not np.allclose(stored[k], want[k], rtol=1e-9, atol=atol):
            out.append(f"{what} {k} differs from the ledger's replay")
    return out


def bandit_violations(rt: Any, *, atol: float = 1e-9) -> list[str]:
    """The stored solution = the library's after learning the ledger's groups, and the stored
    checkpoint = the library's whole state as of its version (``expected_bandit_state``)."""
    solution = joined(_q(rt, "select name, part, data from learner_arrays"))
    statistics = joined(_q(rt, "select name, part, data from learner_statistics"))
    if not solution and not _q(rt, "select 1 from policy_updates limit 1"):
        return []
    checkpoint = int(fetch_one(rt, "select statistics_version from policy_state")[0])
    want_solution, want_checkpoint = expected_bandit_state(rt, checkpoint)
    out = _compare("solution", solution, want_solution, atol)
    if statistics or checkpoint > 0:
        out += _compare("checkpoint", statistics, want_checkpoint, atol)
    return out


def policy_violations(rt: Any, *, atol: float = 1e-9) -> list[str]:
    """Version = ledger rows = max version_after (1..n, each once); the learner's state is
    the ledger's: H and θ = the sum of its steps (gradient), or the arrays = the library's
    replay of its groups (bandit)."""
    out: list[str] = []
    version = int(fetch_one(rt, "select version from policy_state")[0])
    afters = sorted(
        int(r[0])
        for r in _q(rt, "select version_after from policy_updates union all select version from policy_lifecycle")
    )
    if afters != list(range(1, version + 1)):
        out.append(f"version {version}, but the ledger's versions are {afters[:5]}… ({len(afters)} rows)")
    if rt.params.learner == "bandit":
        return out + bandit_violations(rt, atol=atol)
    want_h, want_theta = expected_policy(rt)
    got_h = {(p, tb, d, v): float(x) for p, tb, d, v, x in _q(rt, "select * from policy_preferences")}
    for key in set(want_h) | set(got_h):
        if not np.isclose(got_h.get(key, 0.0), want_h.get(key, 0.0), rtol=0, atol=atol):
            out.append(f"H{key} = {got_h.get(key, 0.0)}, the ledger says {want_h.get(key, 0.0)}")
    got_theta = {(d, v): np.asarray(t, dtype=np.float64) for d, v, t in _q(rt, "select * from policy_theta")}
    zero = np.zeros(768)
    for row in set(want_theta) | set(got_theta):
        if not np.allclose(got_theta.get(row, zero), want_theta.get(row, zero), rtol=0, atol=atol):
            gap = float(np.max(np.abs(got_theta.get(row, zero) - want_theta.get(row, zero))))
            out.append(f"θ{row} differs from the ledger's sum by up to {gap:.3g}")
    return out


def outbox_violations(rt: Any) -> list[str]:
    """Task names are unique by construction; every task names an existing post."""
    names = [r[0] for r in _q(rt, "select task_name from outbox")]
    dup = [n for n, c in Counter(names).items() if c > 1]
    return [f"duplicate task {n}" for n in dup]


def violations(rt: Any) -> list[str]:
    """Every check above, on the whole database."""
    return lifecycle_violations(rt) + baseline_violations(rt) + policy_violations(rt) + outbox_violations(rt)
