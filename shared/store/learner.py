"""The reward-model learner's state (``shared.bandit.RidgeIGW.state()``): named float arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from shared.context import FloatArray
from shared.store.db import Conn


def read_arrays(conn: Conn, names: Sequence[str] | None = None) -> dict[str, FloatArray]:
    """The arrays called ``names`` (None: all of them), flat; absent names are left out."""
    cur = conn.cursor(binary=True)
    if names is None:
        rows = cur.execute("select name, data from learner_arrays").fetchall()
    else:
        rows = cur.execute("select name, data from learner_arrays where name = any(%s)", (list(names),)).fetchall()
    return {name: np.asarray(data, dtype=np.float64) for name, data in rows}


def write_arrays(conn: Conn, arrays: Mapping[str, FloatArray]) -> None:
    """Insert or replace every array of ``arrays`` (flattened) in one statement; others stay.
    The caller holds the version lock (``policy.lock_version``), so no other writer interleaves."""
    names = sorted(arrays)
    if not names:
        return
    flat = [np.ravel(np.asarray(arrays[n], dtype=np.float64)) for n in names]
    ends = np.cumsum([f.size for f in flat])
    starts = ends - np.array([f.size for f in flat]) + 1
    # One flat binary array sliced per row in SQL, as in policy.apply_summed.
    conn.execute(
        "insert into learner_arrays (name, data)"
        " select n, (%b::float8[])[s:e] from unnest(%s::text[], %s::int8[], %s::int8[]) as t(n, s, e)"
        " on conflict (name) do update set data = excluded.data",
        (np.concatenate(flat), names, starts.tolist(), ends.tolist()),
    )


def clear_arrays(conn: Conn) -> None:
    """A new learner: no state (``RidgeIGW.from_state`` of nothing is the prior)."""
    conn.execute("delete from learner_arrays")
