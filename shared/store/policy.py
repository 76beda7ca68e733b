"""Policy state: preferences H, θ rows, baselines, version, the update ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np

from shared.context import FloatArray
from shared.policy import PolicyDelta
from shared.store.db import Conn


@dataclass(frozen=True)
class PolicyView:
    """What one decision reads: H for its (platform, time bucket), every θ, the version."""

    version: int
    preferences: dict[tuple[str, str], float]
    theta: dict[tuple[str, str], FloatArray]


def claim_update(conn: Conn, post_id: UUID, reward: float, advantage: float, now: datetime) -> int | None:
    """Take the version lock and claim ``post_id``'s update; None when already applied.

    The version row is locked first, so updates apply one at a time in
    version order: no lost update on H, θ or the version, and no deadlock.
    """
    version = conn.execute("update policy_state set version = version + 1 returning version").fetchone()
    assert version is not None
    claimed = conn.execute(
        "insert into policy_updates (post_id, reward, advantage, version_after, applied_at)"
        " values (%s, %s, %s, %s, %s) on conflict (post_id) do nothing returning post_id",
        (post_id, reward, advantage, version[0], now),
    ).fetchone()
    return None if claimed is None else int(version[0])


def apply_deltas(conn: Conn, platform: str, time_bucket: str, deltas: Sequence[PolicyDelta], x: FloatArray) -> None:
    """H[p, tb, d, v] += dh and θ[d, v] += coef · x, creating absent rows at 0.

    θ is read, summed in numpy and written back. That is safe only because
    the caller holds the version row lock (``claim_update``), which makes
    every update run alone; the FOR UPDATE keeps it safe for any other writer.
    """
    ordered = sorted(deltas, key=lambda d: (d.dimension, d.value))
    dims = [d.dimension for d in ordered]
    values = [d.value for d in ordered]
    conn.execute(
        "insert into policy_preferences (platform, time_bucket, dimension, value, h)"
        " select %s, %s, d, v, dh from unnest(%s::text[], %s::text[], %s::float8[]) as t(d, v, dh)"
        " on conflict (platform, time_bucket, dimension, value)"
        " do update set h = policy_preferences.h + excluded.h",
        (platform, time_bucket, dims, values, [d.dh for d in ordered]),
    )
    current = {
        (d, v): np.asarray(theta, dtype=np.float64)
        for d, v, theta in conn.cursor(binary=True).execute(
            "select dimension, value, theta from policy_theta"
            " where (dimension, value) in (select * from unnest(%s::text[], %s::text[]))"
            " order by dimension, value for update",
            (dims, values),
        )
    }
    rows = []
    for d in ordered:
        base = current.get((d.dimension, d.value))
        step = d.coef * x
        rows.append((d.dimension, d.value, (step if base is None else base + step).tolist()))
    conn.cursor().executemany(
        "insert into policy_theta (dimension, value, theta) values (%s, %s, %b)"
        " on conflict (dimension, value) do update set theta = excluded.theta",
        rows,
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
    """H for every time bucket of one platform, every θ, the version: one snapshot."""

    version: int
    preferences: dict[str, dict[tuple[str, str], float]]  # time bucket → (dimension, value) → h
    theta: dict[tuple[str, str], FloatArray]

    def view(self, time_bucket: str) -> PolicyView:
        return PolicyView(self.version, self.preferences.get(time_bucket, {}), self.theta)


def platform_policy_query(platform: str) -> tuple[str, tuple[str]]:
    """One statement, so H, θ and the version come from one snapshot. The time
    bucket is not known before the profile's time zone is, so all four come."""
    return (
        "select 'v', null, null, null, version::float8, null::float8[] from policy_state"
        " union all"
        " select 'h', time_bucket, dimension, value, h, null from policy_preferences where platform = %s"
        " union all"
        " select 't', null, dimension, value, null, theta from policy_theta",
        (platform,),
    )


def platform_policy_from_rows(rows: list[tuple[Any, ...]]) -> PlatformPolicy:
    version = 0
    prefs: dict[str, dict[tuple[str, str], float]] = {}
    theta: dict[tuple[str, str], FloatArray] = {}
    for kind, bucket, dim, value, scalar, arr in rows:
        if kind == "v":
            version = int(scalar)
        elif kind == "h":
            prefs.setdefault(bucket, {})[(dim, value)] = float(scalar)
        else:
            theta[(dim, value)] = np.asarray(arr, dtype=np.float64)
    return PlatformPolicy(version=version, preferences=prefs, theta=theta)
