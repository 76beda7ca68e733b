"""What off-policy evaluation reads: logged decisions with their final rewards,
and the current policy (SQL only)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from shared.core.bandit import RidgeIGW
from shared.core.context import CONTEXT_DIM, FloatArray
from shared.core.normaliser import ContextNormaliser
from shared.core.off_policy import Estimate
from shared.core.target_policies import LoggedArrays
from shared.store import normalisers, policy
from shared.store.db import Conn
from shared.store.learner import read_arrays


@dataclass(frozen=True)
class CurrentPolicy:
    version: int
    preferences: dict[tuple[str, str], dict[tuple[str, str], float]]  # (platform, bucket) → (dim, value) → H
    theta: dict[tuple[str, str], FloatArray]
    tau: float | None  # of the latest decision: what the policy runs with now, ε schedule included (None: none yet)
    epsilon: float | None
    normaliser: ContextNormaliser | None = None  # the active one: θ·x' uses its x' (None: the raw x)
    learner: str | None = None  # of the latest decision (None: none yet)
    arrays: dict[str, FloatArray] = field(default_factory=dict)  # the reward-model learner's shared solution


# Brackets out of a JSON array of arrays of numbers, leaving the numbers and their commas.
_BRACKETS = str.maketrans("[]", "  ")

# The rewarded decisions evaluation reads, newest first in a total order that an index keeps
# (decisions_created_at_decision: decisions made in one instant tie on created_at), their keys
# first and then what is computed from each, for the rows kept only.
_REWARDED = (
    "with latest as materialized (select d.decision_id, d.created_at, r.value"
    " from decisions d join rewards r using (post_id) where r.value is not null and not d.holdback{space}"
    " order by d.created_at desc, d.decision_id desc limit %s)"
    " select {columns} from latest l join decisions d using (decision_id)"
    " order by l.created_at desc, l.decision_id desc"
)


def load_logged(conn: Conn, limit: int) -> LoggedArrays:
    """The latest ``limit`` decisions that have a final reward value, oldest first, as arrays.
    Holdback decisions are left out: their one-hot π supports no other policy. So are
    decisions made over another action space than the newest one's (their columns differ).

    The newest decision gives the columns (its dimensions and values). Each decision's π and
    chosen values come through a server-side cursor as two short jsonpath texts (the numbers
    parsed in C, the names looked up), not its whole choices document, straight into the
    arrays: memory stays close to the contexts themselves (768 floats each)."""
    layout_of = (
        "d.action_space,"
        " (select jsonb_agg(jsonb_build_array(c->'dimension', c->'values')) from jsonb_array_elements(d.choices) c)"
    )
    newest = conn.execute(_REWARDED.format(space="", columns=layout_of), (1,)).fetchone()
    if newest is None:
        return LoggedArrays(
            (),
            (),
            (),
            (),
            (),
            np.zeros((0, CONTEXT_DIM)),
            np.zeros((0, 0)),
            np.zeros((0, 0), dtype=np.intp),
            np.zeros(0),
            np.zeros(0),
        )
    space, layout = newest
    dimensions = tuple(str(c[0]) for c in layout)
    values = tuple(tuple(str(v) for v in c[1]) for c in layout)
    sizes = [len(v) for v in values]
    offsets = tuple(int(o) for o in np.cumsum([0, *sizes[:-1]]))
    columns = [{v: o + k for k, v in enumerate(vs)} for o, vs in zip(offsets, values, strict=True)]
    xs = np.empty((limit, CONTEXT_DIM))
    pi = np.empty((limit, sum(sizes)))
    chosen = np.empty((limit, len(dimensions)), dtype=np.intp)
    excluded = np.empty(limit)
    propensity = np.empty(limit)
    rewards = np.empty(limit)
    platforms: list[str] = []
    buckets: list[str] = []
    n = 0
    with conn.cursor(name="logged_decisions", binary=True) as cursor:
        cursor.itersize = 500
        cursor.execute(
            _REWARDED.format(
                space=" and d.action_space = %s",
                columns="l.value, d.platform, d.time_bucket, d.x, d.excluded, d.joint_propensity,"
                " jsonb_path_query_array(d.choices, '$[*].pi')::text,"
                " jsonb_path_query_array(d.choices, '$[*].chosen')::text",
            ),
            (space, limit),
        )
        for reward, platform, time_bucket, x, left_out, joint, pi_text, chosen_text in cursor:
            # π of every dimension, in the space's order: "[[0.2, 0.8], [...]]", numbers parsed in C.
            row_pi = np.fromstring(pi_text.translate(_BRACKETS), sep=",")
            names = json.loads(chosen_text)
            if row_pi.size != pi.shape[1] or len(names) != len(columns):
                continue  # not the newest decision's layout after all
            try:
                chosen[n] = [column[name] for column, name in zip(columns, names, strict=True)]
            except KeyError:
                continue
            xs[n], pi[n] = x, row_pi
            excluded[n], propensity[n], rewards[n] = left_out, joint, reward
            platforms.append(platform)
            buckets.append(time_bucket)
            n += 1
    # Oldest first.
    xs, pi, chosen = xs[:n][::-1], pi[:n][::-1], chosen[:n][::-1]
    excluded, propensity, rewards = excluded[:n][::-1], propensity[:n][::-1], rewards[:n][::-1]
    # The probability the action was drawn with, when it is not the product of the choices'
    # (a decision the variety cap shaped, docs/variety.md).
    product = np.prod(np.take_along_axis(pi, chosen, axis=1), axis=1) if n else np.zeros(0)
    shaped = np.where(excluded > 0, product / np.where(excluded > 0, propensity, 1.0), 1.0)
    return LoggedArrays(
        dimensions=dimensions,
        values=values,
        offsets=offsets,
        platforms=tuple(reversed(platforms)),
        time_buckets=tuple(reversed(buckets)),
        x=xs,
        pi=pi,
        chosen=chosen,
        shaped=shaped,
        rewards=rewards,
    )


def load_current_policy(conn: Conn) -> CurrentPolicy:
    """H, θ, the reward-model learner's shared solution, the version and the active
    normaliser in one snapshot (the caller's transaction), with the learner, τ and ε
    of the latest decision."""
    version = policy.policy_version(conn)
    prefs, theta = policy.read_preferences_and_theta(conn)
    latest = conn.execute(
        "select tau, epsilon, learner from decisions where not holdback order by created_at desc limit 1"
    ).fetchone()
    tau, epsilon, learner = (None, None, None) if latest is None else latest
    active = normalisers.active_version(conn)
    normaliser = None if active is None else normalisers.fetch(conn, {active})[active]
    arrays = read_arrays(conn, RidgeIGW.solution_names(None))
    return CurrentPolicy(version, prefs, theta, tau, epsilon, normaliser, learner, arrays)


@dataclass(frozen=True)
class StoredEvaluation:
    version: int  # the policy version evaluated
    n: int
    computed_at: datetime
    estimates: tuple[Estimate, ...]


def cached_evaluation(conn: Conn) -> StoredEvaluation | None:
    row = conn.execute("select version, n, computed_at, estimates from evaluations").fetchone()
    if row is None:
        return None
    version, n, computed_at, estimates = row
    return StoredEvaluation(int(version), int(n), computed_at, tuple(_estimate(e) for e in estimates))


def store_evaluation(conn: Conn, evaluation: StoredEvaluation) -> None:
    """Keep it unless a newer version's is stored already (overlapping sweeps)."""
    conn.execute(
        "insert into evaluations as e (id, version, n, computed_at, estimates) values (1, %s, %s, %s, %s)"
        " on conflict (id) do update set version = excluded.version, n = excluded.n,"
        " computed_at = excluded.computed_at, estimates = excluded.estimates"
        " where e.version <= excluded.version",
        (
            evaluation.version,
            evaluation.n,
            evaluation.computed_at,
            Jsonb([_json(e) for e in evaluation.estimates]),
        ),
    )


def _json(e: Estimate) -> dict[str, object]:
    # JSON has no NaN (an estimate without weight): it is stored as null.
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in asdict(e).items()}


def _estimate(e: dict[str, Any]) -> Estimate:
    def number(key: str) -> float:
        return math.nan if e[key] is None else float(e[key])

    return Estimate(
        str(e["policy"]),
        str(e["estimator"]),
        number("value"),
        number("ci_low"),
        number("ci_high"),
        int(e["n"]),
        number("ess"),
    )
