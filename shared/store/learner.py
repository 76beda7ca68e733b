"""The reward-model learner's state (``shared.core.bandit.RidgeIGW``), in two parts: the
solution a decision reads (``learner_arrays``, current at every version) and a checkpoint
of the whole state (``learner_statistics`` at ``policy_state.statistics_version``); the
ledger's groups since the checkpoint complete it (``groups_between``).

Every array is kept as consecutive parts of at most ``PART`` floats, a row each
(name, part, data), in these tables and in the snapshots (``policy_snapshot_arrays``).
A row that small stays in its page: Postgres moves a value out of line (TOAST) once its
row passes about 2 kB, and every rewrite of an out-of-line value leaves its old chunks dead
until a vacuum. Rewritten at every group, θ (6.4 kB whole) left megabytes of them at a busy
deployment's pace; parts are updated in place, and their old versions pruned in the page
(docs/decisions.md, "The learner's arrays in parts")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from uuid import UUID

import numpy as np

from shared.core.bandit import RidgeIGW
from shared.core.context import FloatArray
from shared.store.db import Conn
from shared.store.posts import DECISION_COLUMNS_OF_D, PendingUpdate, decision_from_row

# 200 float8 (1,600 bytes) with the row's header, name and array header stay under the
# 2,032 bytes at which Postgres starts moving values out of line.
PART = 200


def joined(rows: Iterable[tuple[str, int, Sequence[float]]]) -> dict[str, FloatArray]:
    """The arrays stored as ``rows`` of (name, part, data), each its parts in order, flat."""
    parts: dict[str, dict[int, Sequence[float]]] = {}
    for name, part, data in rows:
        parts.setdefault(name, {})[int(part)] = data
    return {name: np.concatenate([np.asarray(p[k], dtype=np.float64) for k in sorted(p)]) for name, p in parts.items()}


def read_arrays(conn: Conn, names: Sequence[str] | None = None) -> dict[str, FloatArray]:
    """The solution arrays called ``names`` (None: all of them), flat; absent names are left out."""
    cur = conn.cursor(binary=True)
    if names is None:
        rows = cur.execute("select name, part, data from learner_arrays").fetchall()
    else:
        rows = cur.execute(
            "select name, part, data from learner_arrays where name = any(%s)", (list(names),)
        ).fetchall()
    return joined(rows)


def _upsert(conn: Conn, table: str, arrays: Mapping[str, FloatArray]) -> None:
    """Insert or replace every array of ``arrays`` (flattened, in parts of ``PART``) in one
    statement, and drop the parts an array no longer reaches."""
    names = sorted(arrays)
    if not names:
        return
    flat = [np.ravel(np.asarray(arrays[n], dtype=np.float64)) for n in names]
    counts = [max(1, -(-f.size // PART)) for f in flat]  # an empty array keeps one empty part
    rows: list[tuple[str, int, int, int]] = []  # name, part, first and last float (1-based, inclusive)
    start = 0
    for name, f, count in zip(names, flat, counts, strict=True):
        rows += [(name, k, start + k * PART + 1, start + min((k + 1) * PART, f.size)) for k in range(count)]
        start += f.size
    # One flat binary array sliced per row in SQL, as in policy.apply_summed.
    conn.execute(
        f"insert into {table} (name, part, data)"
        " select n, k, (%b::float8[])[s:e] from unnest(%s::text[], %s::int4[], %s::int8[], %s::int8[]) as t(n, k, s, e)"
        " on conflict (name, part) do update set data = excluded.data",
        (np.concatenate(flat), *(list(c) for c in zip(*rows, strict=True))),
    )
    conn.execute(
        f"delete from {table} t using unnest(%s::text[], %s::int4[]) as c(n, k) where t.name = c.n and t.part >= c.k",
        (names, counts),
    )


def write_solution(conn: Conn, solution: Mapping[str, FloatArray]) -> None:
    """Insert or replace the solution arrays (``RidgeIGW.solution()``); others stay.
    The caller holds the version lock (``policy.lock_version``), so no other writer interleaves."""
    _upsert(conn, "learner_arrays", solution)


def read_statistics(conn: Conn) -> tuple[int, dict[str, FloatArray]]:
    """(the checkpoint's version, the whole state as of it, flat arrays)."""
    row = conn.execute("select statistics_version from policy_state").fetchone()
    assert row is not None
    rows = conn.cursor(binary=True).execute("select name, part, data from learner_statistics").fetchall()
    return int(row[0]), joined(rows)


def write_checkpoint(conn: Conn, state: Mapping[str, FloatArray], version: int) -> None:
    """The whole state (``RidgeIGW.state()``) as of ``version``: the checkpoint, and the
    solution from it. Replaces both. Caller holds the version lock."""
    _replace(conn, "learner_statistics", state)
    _replace(conn, "learner_arrays", {k: v for k, v in state.items() if RidgeIGW.is_solution(k)})
    conn.execute("update policy_state set statistics_version = %s", (version,))


def _replace(conn: Conn, table: str, arrays: Mapping[str, FloatArray]) -> None:
    """Exactly ``arrays`` in ``table``: the rows of other names deleted, the others updated in
    place. Deleting every row and inserting them again left all of them dead at every
    checkpoint; an update stays in its row's page (migrations 20261206120000, 20261207100000)."""
    conn.execute(f"delete from {table} where not (name = any(%s))", (sorted(arrays),))
    _upsert(conn, table, arrays)


def restore_checkpoint(conn: Conn, snapshot_id: int, version: int) -> None:
    """A snapshot's arrays become the checkpoint as of ``version``, and its solution the current one."""
    conn.execute("delete from learner_statistics")
    conn.execute("delete from learner_arrays")
    conn.execute(
        "insert into learner_statistics (name, part, data)"
        " select name, part, data from policy_snapshot_arrays where snapshot_id = %s",
        (snapshot_id,),
    )
    names = [n for (n,) in conn.execute("select distinct name from learner_statistics") if RidgeIGW.is_solution(n)]
    conn.execute(
        "insert into learner_arrays (name, part, data)"
        " select name, part, data from learner_statistics where name = any(%s)",
        (names,),
    )
    conn.execute("update policy_state set statistics_version = %s", (version,))


def groups_between(conn: Conn, after: int, upto: int) -> list[list[PendingUpdate]]:
    """The ledger's groups of the versions after ``after`` up to ``upto``, in order, each
    reward with its decision and business (ledger rows from before groups were recorded
    count as groups of one). ``upto`` keeps out the rows the caller's own transaction wrote."""
    rows = (
        conn.cursor(binary=True)
        .execute(
            "select u.post_id, u.reward, u.reward - u.advantage, p.business_id,"
            f" coalesce(u.group_version, u.version_after), {DECISION_COLUMNS_OF_D}"
            " from policy_updates u join decisions d using (post_id) join posts p using (post_id)"
            " where u.version_after > %s and u.version_after <= %s order by u.version_after",
            (after, upto),
        )
        .fetchall()
    )
    groups: dict[int, list[PendingUpdate]] = {}
    for r in rows:
        business: UUID = r[3]
        groups.setdefault(int(r[4]), []).append(
            PendingUpdate(r[0], float(r[1]), float(r[2]), decision_from_row(r[5:]), business)
        )
    return [groups[g] for g in sorted(groups)]
