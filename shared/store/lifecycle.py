"""Policy lifecycle: the whole state read and written at once, snapshots, the lifecycle log.

Every writer here expects the caller to hold the version lock
(``policy.lock_version``), the lock every policy update takes, so a
rollback, reset or import never interleaves with an update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from shared.core.context import PLATFORMS
from shared.core.normaliser import FittedNormaliser
from shared.policy_file import PolicyState
from shared.store import normalisers
from shared.store.db import Conn
from shared.store.learner import read_statistics, restore_checkpoint, write_checkpoint
from shared.store.policy import lock_baselines, read_preferences_and_theta


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: int
    key: str
    label: str
    reason: str
    version: int
    steps: int
    action_space: str
    created_at: datetime
    normaliser_version: str | None = None  # the normaliser θ was learned with (None: the raw x)


@dataclass(frozen=True)
class LifecycleEntry:
    version: int
    key: str
    kind: str
    snapshot_id: int | None
    saved_snapshot: int | None
    source_version: int | None
    detail: dict[str, Any]
    applied_at: datetime


_SNAPSHOT_COLUMNS = "snapshot_id, key, label, reason, version, steps, action_space, created_at, normaliser_version"
_LIFECYCLE_COLUMNS = "version, key, kind, snapshot_id, saved_snapshot, source_version, detail, applied_at"


def read_state(conn: Conn) -> PolicyState:
    """The current H, θ, the learner's arrays, baselines, version and steps (hold the
    version lock for one consistent state)."""
    state = conn.execute("select version, steps from policy_state").fetchone()
    assert state is not None
    prefs, theta = read_preferences_and_theta(conn)
    baselines = conn.execute("select platform, b, n from policy_baselines").fetchall()
    return PolicyState(
        version=int(state[0]),
        steps=int(state[1]),
        preferences={(p, tb, d, v): h for (p, tb), cell in prefs.items() for (d, v), h in cell.items()},
        theta=theta,
        baselines={p: (float(b), int(n)) for p, b, n in baselines},
        normaliser=active_normaliser(conn),
        arrays=read_statistics(conn)[1],
    )


def active_normaliser(conn: Conn) -> FittedNormaliser | None:
    """The active normaliser with when and on how many contexts it was fitted (None: the raw x)."""
    row = conn.execute("select version, fitted_at, fitted_on from context_normalisers where active").fetchone()
    if row is None:
        return None
    return FittedNormaliser(normalisers.fetch(conn, {row[0]})[row[0]], row[1], int(row[2]))


def write_state(conn: Conn, state: PolicyState) -> None:
    """Replace H, θ, the learner's arrays, the baselines and the active normaliser by ``state``'s (absent
    platforms: b = 0, n = 0; no normaliser: the raw x). The version and steps are
    the caller's (``set_version``)."""
    if state.normaliser is None:
        normalisers.activate(conn, None)
    else:
        fitted = state.normaliser
        normalisers.activate(conn, normalisers.store(conn, fitted.normaliser, fitted.fitted_on, fitted.fitted_at))
    conn.execute("delete from policy_preferences")
    conn.execute("delete from policy_theta")
    # The learner's arrays become the checkpoint as of the version this change makes (the caller bumps it).
    write_checkpoint(conn, state.arrays, _version(conn) + 1)
    keys = sorted(state.preferences)
    if keys:
        conn.execute(
            "insert into policy_preferences (platform, time_bucket, dimension, value, h)"
            " select * from unnest(%s::text[], %s::text[], %s::text[], %s::text[], %b::float8[])",
            (
                [k[0] for k in keys],
                [k[1] for k in keys],
                [k[2] for k in keys],
                [k[3] for k in keys],
                np.array([state.preferences[k] for k in keys], dtype=np.float64),
            ),
        )
    pairs = sorted(state.theta)
    if pairs:
        n = state.theta[pairs[0]].size
        # One flat binary array sliced per row in SQL, as in policy.apply_summed.
        conn.execute(
            "insert into policy_theta (dimension, value, theta)"
            " select d, v, (%b::float8[])[(i - 1) * %s + 1 : i * %s]"
            " from unnest(%s::text[], %s::text[]) with ordinality as t(d, v, i)",
            (np.concatenate([state.theta[p] for p in pairs]), n, n, [p[0] for p in pairs], [p[1] for p in pairs]),
        )
    lock_baselines(conn, PLATFORMS)
    conn.cursor().executemany(
        "update policy_baselines set b = %s, n = %s where platform = %s",
        [(*state.baselines.get(p, (0.0, 0)), p) for p in sorted(PLATFORMS)],
    )


def _version(conn: Conn) -> int:
    row = conn.execute("select version from policy_state").fetchone()
    assert row is not None
    return int(row[0])


def steps(conn: Conn) -> int:
    row = conn.execute("select steps from policy_state").fetchone()
    assert row is not None
    return int(row[0])


def clear_theta(conn: Conn) -> None:
    """θ = 0 (absent rows read as 0)."""
    conn.execute("delete from policy_theta")


def set_version(conn: Conn, version: int, steps: int) -> None:
    conn.execute("update policy_state set version = %s, steps = %s", (version, steps))


def save_snapshot(
    conn: Conn, key: str, label: str, reason: str, action_space: str, now: datetime
) -> tuple[SnapshotInfo, bool]:
    """Copy the current state into a new snapshot named ``key``: (snapshot, created).
    A key used before returns that snapshot and copies nothing. The learner's arrays are
    its checkpoint: the caller makes it current first (``services.learner_state.materialise``)."""
    row = conn.execute(
        "insert into policy_snapshots (key, label, reason, version, steps, action_space, created_at,"
        " normaliser_version)"
        " select %s, %s, %s, version, steps, %s, %s,"
        " (select version from context_normalisers where active) from policy_state"
        f" on conflict (key) do nothing returning {_SNAPSHOT_COLUMNS}",
        (key, label, reason, action_space, now),
    ).fetchone()
    if row is None:
        found = snapshot_by_key(conn, key)
        assert found is not None
        return found, False
    info = SnapshotInfo(*row)
    sid = info.snapshot_id
    conn.execute(
        "insert into policy_snapshot_preferences (snapshot_id, platform, time_bucket, dimension, value, h)"
        " select %s, platform, time_bucket, dimension, value, h from policy_preferences",
        (sid,),
    )
    conn.execute(
        "insert into policy_snapshot_theta (snapshot_id, dimension, value, theta)"
        " select %s, dimension, value, theta from policy_theta",
        (sid,),
    )
    conn.execute(
        "insert into policy_snapshot_arrays (snapshot_id, name, part, data)"
        " select %s, name, part, data from learner_statistics",
        (sid,),
    )
    conn.execute(
        "insert into policy_snapshot_baselines (snapshot_id, platform, b, n)"
        " select %s, platform, b, n from policy_baselines",
        (sid,),
    )
    return info, True


def restore_snapshot(conn: Conn, snapshot_id: int) -> None:
    """H, θ, the learner's arrays and baselines become the snapshot's, copied float8 to float8 (bitwise), and
    its normaliser the active one (θ was learned on its x')."""
    snap = get_snapshot(conn, snapshot_id)
    assert snap is not None
    normalisers.activate(conn, snap.normaliser_version)
    conn.execute("delete from policy_preferences")
    conn.execute("delete from policy_theta")
    restore_checkpoint(conn, snapshot_id, _version(conn) + 1)  # as of the version the rollback makes
    conn.execute(
        "insert into policy_preferences (platform, time_bucket, dimension, value, h)"
        " select platform, time_bucket, dimension, value, h from policy_snapshot_preferences where snapshot_id = %s",
        (snapshot_id,),
    )
    conn.execute(
        "insert into policy_theta (dimension, value, theta)"
        " select dimension, value, theta from policy_snapshot_theta where snapshot_id = %s",
        (snapshot_id,),
    )
    lock_baselines(conn, PLATFORMS)
    conn.execute(
        "update policy_baselines p set b = s.b, n = s.n from policy_snapshot_baselines s"
        " where s.snapshot_id = %s and s.platform = p.platform",
        (snapshot_id,),
    )


def snapshot_by_key(conn: Conn, key: str) -> SnapshotInfo | None:
    row = conn.execute(f"select {_SNAPSHOT_COLUMNS} from policy_snapshots where key = %s", (key,)).fetchone()
    return None if row is None else SnapshotInfo(*row)


def get_snapshot(conn: Conn, snapshot_id: int) -> SnapshotInfo | None:
    row = conn.execute(
        f"select {_SNAPSHOT_COLUMNS} from policy_snapshots where snapshot_id = %s", (snapshot_id,)
    ).fetchone()
    return None if row is None else SnapshotInfo(*row)


def latest_snapshot_at(conn: Conn, version: int) -> SnapshotInfo | None:
    """The newest snapshot taken at ``version``."""
    row = conn.execute(
        f"select {_SNAPSHOT_COLUMNS} from policy_snapshots where version = %s order by snapshot_id desc limit 1",
        (version,),
    ).fetchone()
    return None if row is None else SnapshotInfo(*row)


def list_snapshots(conn: Conn, limit: int = 100) -> list[SnapshotInfo]:
    rows = conn.execute(
        f"select {_SNAPSHOT_COLUMNS} from policy_snapshots order by snapshot_id desc limit %s", (limit,)
    ).fetchall()
    return [SnapshotInfo(*r) for r in rows]


def record_lifecycle(conn: Conn, entry: LifecycleEntry) -> None:
    e = entry
    conn.execute(
        f"insert into policy_lifecycle ({_LIFECYCLE_COLUMNS}) values (%s, %s, %s, %s, %s, %s, %s, %s)",
        (e.version, e.key, e.kind, e.snapshot_id, e.saved_snapshot, e.source_version, Jsonb(e.detail), e.applied_at),
    )


def lifecycle_by_key(conn: Conn, key: str) -> LifecycleEntry | None:
    row = conn.execute(f"select {_LIFECYCLE_COLUMNS} from policy_lifecycle where key = %s", (key,)).fetchone()
    return None if row is None else LifecycleEntry(*row)


def lifecycle_log(conn: Conn, limit: int = 100) -> list[LifecycleEntry]:
    rows = conn.execute(
        f"select {_LIFECYCLE_COLUMNS} from policy_lifecycle order by version desc limit %s", (limit,)
    ).fetchall()
    return [LifecycleEntry(*r) for r in rows]
