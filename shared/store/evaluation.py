"""What off-policy evaluation reads: logged decisions with their final rewards,
and the current policy (SQL only)."""

from __future__ import annotations

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


def load_logged(conn: Conn, limit: int) -> LoggedArrays:
    """The latest ``limit`` decisions that have a final reward value, oldest first, as arrays.
    Holdback decisions are left out: their one-hot π supports no other policy. So are
    decisions made over another action space than the newest one's (their columns differ).

    Read in batches through a server-side cursor, with only what the estimators use of each
    choice (its values, π and the chosen value; the explanations are left in the database),
    straight into the arrays: memory stays close to the contexts themselves (768 floats each)."""
    xs = np.empty((limit, CONTEXT_DIM))
    pis: list[list[float]] = []
    chosen: list[list[int]] = []
    shaped: list[float] = []
    rewards: list[float] = []
    platforms: list[str] = []
    buckets: list[str] = []
    dimensions: tuple[str, ...] = ()
    values: tuple[tuple[str, ...], ...] = ()
    offsets: tuple[int, ...] = ()
    columns: list[dict[str, int]] = []
    with conn.cursor(name="logged_decisions", binary=True) as cursor:
        cursor.itersize = 500
        cursor.execute(
            "select r.value, d.platform, d.time_bucket, d.x, d.excluded, d.joint_propensity,"
            " (select jsonb_agg(jsonb_build_array(c->'dimension', c->'values', c->'pi', c->'chosen'))"
            "  from jsonb_array_elements(d.choices) c)"
            " from decisions d join rewards r using (post_id)"
            " where r.value is not null and not d.holdback order by d.created_at desc, d.decision_id limit %s",
            (limit,),
        )
        for reward, platform, time_bucket, x, excluded, propensity, choices in cursor:
            if not dimensions:  # the newest decision's action space
                dimensions = tuple(c[0] for c in choices)
                values = tuple(tuple(c[1]) for c in choices)
                offsets = tuple(int(o) for o in np.cumsum([0, *(len(v) for v in values[:-1])]))
                columns = [{v: o + k for k, v in enumerate(vs)} for o, vs in zip(offsets, values, strict=True)]
            elif len(choices) != len(dimensions) or any(
                c[0] != d or tuple(c[1]) != v for c, d, v in zip(choices, dimensions, values, strict=False)
            ):
                continue
            pi = [float(p) for c in choices for p in c[2]]
            picked = [col[c[3]] for col, c in zip(columns, choices, strict=True)]
            xs[len(rewards)] = x
            pis.append(pi)
            chosen.append(picked)
            # The probability the action was drawn with, when it is not the product of the
            # choices' (a decision the variety cap shaped, docs/variety.md).
            shaped.append(math.prod(pi[k] for k in picked) / float(propensity) if excluded > 0 else 1.0)
            rewards.append(float(reward))
            platforms.append(platform)
            buckets.append(time_bucket)
    n = len(rewards)
    return LoggedArrays(
        dimensions=dimensions,
        values=values,
        offsets=offsets,
        platforms=tuple(reversed(platforms)),
        time_buckets=tuple(reversed(buckets)),
        x=xs[:n][::-1],
        pi=np.array(pis[::-1], dtype=np.float64).reshape(n, -1) if n else np.zeros((0, 0)),
        chosen=np.array(chosen[::-1], dtype=np.intp).reshape(n, -1) if n else np.zeros((0, 0), dtype=np.intp),
        shaped=np.array(shaped[::-1]),
        rewards=np.array(rewards[::-1]),
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
