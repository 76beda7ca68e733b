"""Policy state: preferences H, θ rows, baselines, version, the update ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np

from shared.core.bandit import RidgeIGW
from shared.core.context import FloatArray
from shared.core.preferences import PolicyReading
from shared.store import normalisers
from shared.store.db import Conn
from shared.store.learner import joined, read_arrays


@dataclass(frozen=True)
class PolicyView:
    """What one decision reads: H for its (platform, time bucket), every θ, the version
    and the learning steps behind it (for the ε schedule)."""

    version: int
    preferences: dict[tuple[str, str], float]
    theta: dict[tuple[str, str], FloatArray]
    steps: int = 0
    normaliser_version: str | None = None  # θ·x' uses this normaliser's x' (None: the raw x)


def read_preferences_and_theta(
    conn: Conn,
) -> tuple[dict[tuple[str, str], dict[tuple[str, str], float]], dict[tuple[str, str], FloatArray]]:
    """Every H, by (platform, time bucket) then (dimension, value), and every θ[d, v],
    in the caller's transaction."""
    prefs: dict[tuple[str, str], dict[tuple[str, str], float]] = {}
    for platform, bucket, dim, value, h in conn.execute(
        "select platform, time_bucket, dimension, value, h from policy_preferences"
    ):
        prefs.setdefault((platform, bucket), {})[(dim, value)] = float(h)
    theta = {
        (d, v): np.asarray(t, dtype=np.float64)
        for d, v, t in conn.cursor(binary=True).execute("select dimension, value, theta from policy_theta")
    }
    return prefs, theta


def lock_version(conn: Conn) -> int:
    """Lock the version row: from here until commit this transaction updates the policy alone."""
    row = conn.execute("select version from policy_state for update").fetchone()
    assert row is not None
    return int(row[0])


def record_updates(conn: Conn, rows: list[tuple[UUID, float, float]], first_version: int, now: datetime) -> None:
    """Ledger rows (post_id, reward, advantage) with versions first_version, +1, … and
    their group named by first_version; the rewards marked applied and the version moved
    past them. Caller holds the version lock."""
    n = len(rows)
    ids = [r[0] for r in rows]
    conn.execute(
        "insert into policy_updates (post_id, reward, advantage, version_after, applied_at, group_version)"
        " select p, r, a, %s + i - 1, %s, %s from unnest(%s::uuid[], %s::float8[], %s::float8[])"
        " with ordinality as t(p, r, a, i)",
        (first_version, now, first_version, ids, [r[1] for r in rows], [r[2] for r in rows]),
    )
    conn.execute("update rewards set policy_applied = true where post_id = any(%s)", (ids,))
    conn.execute("update policy_state set version = %s, steps = steps + %s", (first_version + n - 1, n))


def mark_handled(conn: Conn, post_id: UUID) -> None:
    """A reward with nothing to learn (a holdback decision) leaves the pending updates."""
    conn.execute("update rewards set policy_applied = true where post_id = %s", (post_id,))


def apply_summed(
    conn: Conn,
    dh: dict[tuple[str, str, str, str], float],
    dtheta: dict[tuple[str, str], FloatArray],
) -> None:
    """H[p, tb, d, v] += dh and θ[d, v] += Δθ, creating absent rows at 0.

    θ is read, summed in numpy and written back in one statement. That is
    safe only because the caller holds the version row lock, which makes
    every policy update run alone; the FOR UPDATE keeps it safe for any other writer.
    """
    keys = sorted(dh)
    conn.execute(
        "insert into policy_preferences (platform, time_bucket, dimension, value, h)"
        " select p, tb, d, v, dh from unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[])"
        " as t(p, tb, d, v, dh)"
        " on conflict (platform, time_bucket, dimension, value)"
        " do update set h = policy_preferences.h + excluded.h",
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [k[3] for k in keys], [dh[k] for k in keys]),
    )
    pairs = sorted(dtheta)
    if not pairs:  # a group of decisions made before the active normaliser: H only
        return
    dims, values = [p[0] for p in pairs], [p[1] for p in pairs]
    read = conn.cursor(binary=True).execute(
        "select dimension, value, theta from policy_theta"
        " where (dimension, value) in (select * from unnest(%s::text[], %s::text[]))"
        " order by dimension, value for update",
        (dims, values),
    )
    current = {(d, v): np.asarray(theta, dtype=np.float64) for d, v, theta in read.fetchall()}
    rows = []
    for pair in pairs:
        base = current.get(pair)
        rows.append(dtheta[pair] if base is None else base + dtheta[pair])
    # One statement for every row: the new θ rows travel as one flat binary
    # array, sliced per row in SQL (a statement per row costs a round trip each).
    n = rows[0].size if rows else 0
    conn.execute(
        "insert into policy_theta (dimension, value, theta)"
        " select d, v, (%b::float8[])[(i - 1) * %s + 1 : i * %s]"
        " from unnest(%s::text[], %s::text[]) with ordinality as t(d, v, i)"
        " on conflict (dimension, value) do update set theta = excluded.theta",
        (np.concatenate(rows), n, n, dims, values),
    )


def lock_baselines(conn: Conn, platforms: Sequence[str]) -> dict[str, float]:
    """The baselines of ``platforms``, locked in name order (a fixed lock order: no deadlock)."""
    rows = conn.execute(
        "select platform, b from policy_baselines where platform = any(%s) order by platform for update",
        (sorted(set(platforms)),),
    ).fetchall()
    found = {r[0]: float(r[1]) for r in rows}
    missing = set(platforms) - set(found)
    if missing:
        raise LookupError(f"no baseline row for {sorted(missing)}")
    return found


def store_baselines(conn: Conn, values: dict[str, float], folded: dict[str, int]) -> None:
    """Write the new baselines; ``folded`` counts the rewards folded into each."""
    conn.cursor().executemany(
        "update policy_baselines set b = %s, n = n + %s where platform = %s",
        [(values[p], folded[p], p) for p in sorted(values)],
    )


def policy_version(conn: Conn) -> int:
    row = conn.execute("select version from policy_state").fetchone()
    assert row is not None
    return int(row[0])


def applied_version(conn: Conn, post_id: UUID) -> int | None:
    """The version an already-applied update produced, or None."""
    row = conn.execute("select version_after from policy_updates where post_id = %s", (post_id,)).fetchone()
    return None if row is None else int(row[0])


@dataclass(frozen=True)
class PlatformPolicy:
    """H for every time bucket of one platform, every θ, the version and steps: one snapshot."""

    version: int
    preferences: dict[str, dict[tuple[str, str], float]]  # time bucket → (dimension, value) → h
    theta: dict[tuple[str, str], FloatArray]
    steps: int = 0
    normaliser_version: str | None = None
    arrays: dict[str, FloatArray] = field(default_factory=dict)  # the bandit's solution arrays asked for

    def view(self, time_bucket: str) -> PolicyView:
        return PolicyView(
            self.version, self.preferences.get(time_bucket, {}), self.theta, self.steps, self.normaliser_version
        )


def platform_policy_query(platform: str, arrays: Sequence[str] = ()) -> tuple[str, tuple[str, list[str]]]:
    """One statement, so H, θ, the learner's ``arrays`` (by name: the reward-model
    learner's solution), the version and the active normaliser's version come from
    one snapshot. The time bucket is not known before the profile's time zone is,
    so all buckets come. The normaliser's arrays do not: they are cached by version
    (``store.normalisers``)."""
    return (
        "select 'v', null, null, null, version::float8, null::float8[] from policy_state"
        " union all"
        " select 's', null, null, null, steps::float8, null from policy_state"
        " union all"
        " select 'n', version, null, null, null, null from context_normalisers where active"
        " union all"
        " select 'h', time_bucket, dimension, value, h, null from policy_preferences where platform = %s"
        " union all"
        " select 't', null, dimension, value, null, theta from policy_theta"
        " union all"
        " select 'a', name, null, null, part::float8, data from learner_arrays where name = any(%s)",
        (platform, list(arrays)),
    )


def platform_policy_from_rows(rows: list[tuple[Any, ...]]) -> PlatformPolicy:
    version = steps = 0
    normaliser: str | None = None
    prefs: dict[str, dict[tuple[str, str], float]] = {}
    theta: dict[tuple[str, str], FloatArray] = {}
    parts: list[tuple[str, int, Any]] = []
    for kind, bucket, dim, value, scalar, arr in rows:
        if kind == "v":
            version = int(scalar)
        elif kind == "s":
            steps = int(scalar)
        elif kind == "n":
            normaliser = bucket
        elif kind == "h":
            prefs.setdefault(bucket, {})[(dim, value)] = float(scalar)
        elif kind == "a":
            parts.append((bucket, int(scalar), arr))
        else:
            theta[(dim, value)] = np.asarray(arr, dtype=np.float64)
    return PlatformPolicy(
        version=version,
        preferences=prefs,
        theta=theta,
        steps=steps,
        normaliser_version=normaliser,
        arrays=joined(parts),
    )


def read_policy(conn: Conn, business: str | None = None) -> PolicyReading:
    """The policy as shown (``core.preferences``), in the caller's transaction: H, θ, the bandit's
    solution (with ``business``'s own terms when given), the version, steps and active normaliser."""
    row = conn.execute("select version, steps from policy_state").fetchone()
    assert row is not None
    prefs, theta = read_preferences_and_theta(conn)
    arrays = read_arrays(conn, RidgeIGW.solution_names(business))
    active = normalisers.active_version(conn)
    normaliser = None if active is None else normalisers.fetch(conn, {active})[active]
    return PolicyReading(int(row[0]), int(row[1]), prefs, theta, arrays, normaliser)


def business_context(conn: Conn, business_id: UUID, latest: int = 20) -> tuple[FloatArray | None, int]:
    """(the mean x of the business's latest ``latest`` decisions, how many), through the index
    posts (business_id, created_at); (None, 0) before its first decision."""
    rows = (
        conn.cursor(binary=True)
        .execute(
            "select d.x from posts p join decisions d on d.post_id = p.post_id"
            " where p.business_id = %s order by p.created_at desc limit %s",
            (business_id, latest),
        )
        .fetchall()
    )
    if not rows:
        return None, 0
    return np.mean([np.asarray(x, dtype=np.float64) for (x,) in rows], axis=0), len(rows)
