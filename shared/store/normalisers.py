"""Context normalisers (docs/decisions.md item 48): stored once, cached by version.

A normaliser is immutable and its version is a content hash, so an instance
keeps the arrays of every version it has met: they travel once per instance
and version, not per decision. The decision path learns the active version
from its one read (``store.policy.platform_policy_query``); only a cache miss
costs one more round trip. The writers expect the caller to hold the version lock.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import numpy as np

from shared.core.context import CONTEXT_DIM, FloatArray
from shared.core.normaliser import ContextNormaliser
from shared.store.db import Conn, Database

_cache: dict[str, ContextNormaliser] = {}
_cache_lock = threading.Lock()


def _from_row(row: tuple[Any, ...]) -> ContextNormaliser:
    mean = np.asarray(row[0], dtype=np.float64)
    scale = np.asarray(row[2], dtype=np.float64)
    basis = np.asarray(row[1], dtype=np.float64).reshape(scale.size, mean.size)
    return ContextNormaliser(mean=mean, basis=basis, scale=scale, platform_weight=float(row[3]))


def fetch(conn: Conn, versions: set[str]) -> dict[str, ContextNormaliser]:
    """The normalisers of ``versions``, from the cache or (those missing, in one statement) the database."""
    with _cache_lock:
        found = {v: _cache[v] for v in versions if v in _cache}
    missing = sorted(versions - set(found))
    if missing:
        rows = (
            conn.cursor(binary=True)
            .execute(
                "select version, mean, basis, scale, platform_weight from context_normalisers where version = any(%s)",
                (missing,),
            )
            .fetchall()
        )
        loaded = {r[0]: _from_row(r[1:]) for r in rows}
        if set(loaded) != set(missing):
            raise LookupError(f"no normaliser {sorted(set(missing) - set(loaded))}")
        with _cache_lock:
            _cache.update(loaded)
        found.update(loaded)
    return found


def cached(version: str) -> ContextNormaliser | None:
    with _cache_lock:
        return _cache.get(version)


def get(db: Database, version: str) -> ContextNormaliser:
    """One normaliser: from the cache, else one round trip (once per instance and version)."""
    hit = cached(version)
    if hit is not None:
        return hit
    with db.statement() as conn:
        return fetch(conn, {version})[version]


def active_version(conn: Conn) -> str | None:
    row = conn.execute("select version from context_normalisers where active").fetchone()
    return None if row is None else str(row[0])


def any_fitted(conn: Conn) -> bool:
    return conn.execute("select exists (select 1 from context_normalisers)").fetchone() == (True,)


def store(conn: Conn, normaliser: ContextNormaliser, fitted_on: int, now: datetime) -> str:
    """Insert ``normaliser`` (a version stored before stays as it was); its version."""
    version = normaliser.version
    conn.execute(
        "insert into context_normalisers (version, mean, basis, scale, platform_weight, fitted_at, fitted_on)"
        " values (%s, %b, %b, %b, %s, %s, %s) on conflict (version) do nothing",
        (
            version,
            np.ascontiguousarray(normaliser.mean, dtype=np.float64),
            np.ascontiguousarray(normaliser.basis, dtype=np.float64).reshape(-1),
            np.ascontiguousarray(normaliser.scale, dtype=np.float64),
            normaliser.platform_weight,
            now,
            fitted_on,
        ),
    )
    with _cache_lock:
        _cache.setdefault(version, normaliser)
    return version


def activate(conn: Conn, version: str | None) -> None:
    """Make ``version`` the active normaliser (None: none, the raw x)."""
    conn.execute(
        "update context_normalisers set active = false where active and version is distinct from %s", (version,)
    )
    if version is not None:
        conn.execute("update context_normalisers set active = true where version = %s and not active", (version,))


def recent_contexts(conn: Conn, last: int) -> FloatArray:
    """The raw x of the latest ``last`` decisions, shape (m, 768)."""
    rows = (
        conn.cursor(binary=True)
        .execute("select x from decisions order by created_at desc, decision_id desc limit %s", (last,))
        .fetchall()
    )
    if not rows:
        return np.zeros((0, CONTEXT_DIM))
    return np.stack([np.asarray(r[0], dtype=np.float64) for r in rows])


def decisions_at_least(conn: Conn, n: int) -> bool:
    """Whether there are at least ``n`` decisions (counts no further than n)."""
    row = conn.execute("select count(*) from (select 1 from decisions limit %s) t", (n,)).fetchone()
    assert row is not None
    return int(row[0]) >= n
