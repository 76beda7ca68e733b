"""Policy lifecycle (docs/lifecycle.md): export, import, snapshots, rollback, reset,
fitting the context normaliser.

Each change runs in one transaction under the version lock, the lock every
policy update takes, so it serialises with updates. A change is a new
version (the version never goes back: a decision's version names one state),
recorded in the lifecycle log under the caller's key; the state it replaces
is saved as a snapshot first, so every change can itself be rolled back. The
same key again returns the first outcome and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.core.action_space import ActionSpace
from shared.core.bandit import DEFAULT_RANK, BanditParams, RidgeIGW
from shared.core.normaliser import fit_normaliser
from shared.core.policy import PolicyParams
from shared.errors import Conflict, NotFound, PermanentError
from shared.faults import fault_point
from shared.policy_file import PolicyFile, PolicyState, compatibility, state_from_file, to_file
from shared.services import learner_state
from shared.store import learner as learner_store
from shared.store import lifecycle as store
from shared.store import normalisers as normaliser_store
from shared.store import policy as policy_store
from shared.store.db import Conn, Database
from shared.store.lifecycle import LifecycleEntry, SnapshotInfo


@dataclass(frozen=True)
class LifecycleOutcome:
    kind: str  # rollback | reset | import | normaliser
    version: int  # the version this change made
    applied: bool  # False: the key was used before; nothing changed now
    saved_snapshot: int | None  # the state replaced, saved as this snapshot
    snapshot_id: int | None  # rollback: the snapshot restored
    source_version: int | None  # rollback: the snapshot's version; import: the file's
    detail: dict[str, Any]


def _outcome(entry: LifecycleEntry, applied: bool) -> LifecycleOutcome:
    return LifecycleOutcome(
        kind=entry.kind,
        version=entry.version,
        applied=applied,
        saved_snapshot=entry.saved_snapshot,
        snapshot_id=entry.snapshot_id,
        source_version=entry.source_version,
        detail=entry.detail,
    )


def _repeated(conn: Conn, key: str, kind: str) -> LifecycleOutcome | None:
    entry = store.lifecycle_by_key(conn, key)
    if entry is None:
        return None
    if entry.kind != kind:
        raise Conflict(f"key {key!r} was used for a {entry.kind}", field="key")
    return _outcome(entry, applied=False)


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= 180:
        raise PermanentError("key must have 1 to 180 characters", field="key")


def _change(
    db: Database,
    *,
    kind: str,
    key: str,
    space: ActionSpace,
    now: datetime,
    apply: Callable[[Conn], tuple[int, int | None, int | None, dict[str, Any]]],
) -> LifecycleOutcome:
    """Under the version lock: repeat check, save the current state, ``apply(conn) ->
    (steps, snapshot_id, source_version, detail)``, bump the version, log it."""
    _check_key(key)
    with db.transaction() as conn:
        version = policy_store.lock_version(conn)
        repeated = _repeated(conn, key, kind)
        if repeated is not None:
            return repeated
        learner_state.materialise(conn, db.url, space, version)
        saved, created = store.save_snapshot(
            conn, f"{key}/before", f"before {kind}", f"before_{kind}", space.version, now
        )
        if not created:
            raise Conflict(f"a snapshot already has the key {key}/before: use another key", field="key")
        steps, snapshot_id, source_version, detail = apply(conn)
        fault_point("lifecycle.after_write")
        store.set_version(conn, version + 1, steps)
        entry = LifecycleEntry(
            version=version + 1,
            key=key,
            kind=kind,
            snapshot_id=snapshot_id,
            saved_snapshot=saved.snapshot_id,
            source_version=source_version,
            detail=detail,
            applied_at=now,
        )
        store.record_lifecycle(conn, entry)
    return _outcome(entry, applied=True)


def export_policy(db: Database, space: ActionSpace, params: PolicyParams, now: datetime) -> PolicyFile:
    """The whole policy as a file, read under the version lock (one consistent version)."""
    with db.transaction() as conn:
        version = policy_store.lock_version(conn)
        learner_state.materialise(conn, db.url, space, version)
        state = store.read_state(conn)
    return to_file(state, space, params, now)


def current_state(db: Database, space: ActionSpace) -> PolicyState:
    with db.transaction() as conn:
        version = policy_store.lock_version(conn)
        learner_state.materialise(conn, db.url, space, version)
        return store.read_state(conn)


def import_policy(
    db: Database,
    doc: PolicyFile,
    *,
    space: ActionSpace,
    key: str,
    now: datetime,
    allow_mismatch: bool = False,
) -> LifecycleOutcome:
    """Replace the policy by the file's, as a new version (atomic: all or nothing).

    A file whose action space differs from the running one is refused unless
    ``allow_mismatch``: then rows of values the running space lacks are
    dropped and values the file lacks start at 0. A file of another context
    dimension is always refused (θ would not fit x).
    """
    try:
        state = state_from_file(doc, space)
    except ValueError as exc:
        raise PermanentError(str(exc), field="context_dim") from exc
    try:
        RidgeIGW.from_state(space, BanditParams(), DEFAULT_RANK, state.arrays)
    except (KeyError, ValueError) as exc:
        raise PermanentError(f"learner_arrays do not fit the action space: {exc}", field="learner_arrays") from exc
    compat = compatibility(doc, space)
    if not compat.matches and not allow_mismatch:
        raise Conflict(
            f"the file's action space differs from the running one ({len(compat.missing)} values missing, "
            f"{len(compat.extra)} extra); import with allow_mismatch to drop or zero them",
            field="action_space",
        )
    detail = {
        "exported_at": doc.exported_at.isoformat(),
        "action_space": doc.action_space.version,
        "dropped": [f"{d}.{v}" for d, v in compat.extra],
        "zeroed": [f"{d}.{v}" for d, v in compat.missing],
        # The reward-model learner's arrays are laid out by the action space: they cannot be mapped.
        "learner_arrays": "imported" if state.arrays else ("dropped" if doc.learner_arrays else "none"),
    }

    def apply(conn: Conn) -> tuple[int, int | None, int | None, dict[str, Any]]:
        store.write_state(conn, state)
        return state.steps, None, doc.version, detail

    return _change(db, kind="import", key=key, space=space, now=now, apply=apply)


def take_snapshot(
    db: Database, *, key: str, label: str, space: ActionSpace, now: datetime, reason: str = "manual"
) -> tuple[SnapshotInfo, bool]:
    """Save the current state (under the version lock); (snapshot, created). A key used before
    returns its snapshot."""
    _check_key(key)
    if len(label) > 200:
        raise PermanentError("label must have at most 200 characters", field="label")
    with db.transaction() as conn:
        version = policy_store.lock_version(conn)
        learner_state.materialise(conn, db.url, space, version)
        return store.save_snapshot(conn, key, label, reason, space.version, now)


def snapshots(db: Database, limit: int = 100) -> list[SnapshotInfo]:
    with db.statement() as conn:
        return store.list_snapshots(conn, limit)


def lifecycle_log(db: Database, limit: int = 100) -> list[LifecycleEntry]:
    with db.statement() as conn:
        return store.lifecycle_log(conn, limit)


def rollback(
    db: Database,
    *,
    space: ActionSpace,
    key: str,
    now: datetime,
    snapshot_id: int | None = None,
    version: int | None = None,
) -> LifecycleOutcome:
    """Restore a snapshot's H, θ and baselines (by id, or the newest taken at ``version``)
    as a new version; its learning steps come back with it."""
    if (snapshot_id is None) == (version is None):
        raise PermanentError("give either a snapshot id or a version", field="snapshot_id")

    def apply(conn: Conn) -> tuple[int, int | None, int | None, dict[str, Any]]:
        if snapshot_id is not None:
            snap = store.get_snapshot(conn, snapshot_id)
            if snap is None:
                raise NotFound(f"no snapshot {snapshot_id}", field="snapshot_id")
        else:
            assert version is not None
            snap = store.latest_snapshot_at(conn, version)
            if snap is None:
                raise NotFound(f"no snapshot taken at version {version}", field="version")
        store.restore_snapshot(conn, snap.snapshot_id)
        return snap.steps, snap.snapshot_id, snap.version, {"label": snap.label, "action_space": snap.action_space}

    return _change(db, kind="rollback", key=key, space=space, now=now, apply=apply)


def reset_policy(db: Database, *, space: ActionSpace, key: str, now: datetime) -> LifecycleOutcome:
    """Back to the initial policy (H = 0, θ = 0, baselines 0, no learning steps) as a new version.
    The active context normaliser stays: it is fitted on contexts, not learned from rewards."""

    def apply(conn: Conn) -> tuple[int, int | None, int | None, dict[str, Any]]:
        store.write_state(conn, PolicyState(version=0, steps=0, normaliser=store.active_normaliser(conn)))
        return 0, None, None, {}

    return _change(db, kind="reset", key=key, space=space, now=now, apply=apply)


class _Skipped(Exception):
    """Raised inside a change to roll it back: there was nothing to do."""


# The key of the automatic fit (run_sweep): one per database, so overlapping sweeps repeat it.
AUTO_FIT_KEY = "normaliser/auto"
MAX_FIT_CONTEXTS = 5_000
# Fewer logged contexts than this make a normaliser whose directions are mostly noise: it is
# fitted when asked (a test, a demo), and the command line warns (docs/decisions.md item 55).
FEW_FIT_CONTEXTS = 100


def _forget_context(conn: Conn, db_key: str, space: ActionSpace) -> None:
    """The reward-model learner forgets what it learned about x' (the new normaliser gives
    x' another meaning): as if every past reward had seen components 0. Nothing to do
    when it has no state (or one of another action space)."""
    version = policy_store.policy_version(conn)
    learner = learner_state.materialise(conn, db_key, space, version)
    if learner is None:
        return
    learner.forget_context()
    learner_store.write_checkpoint(conn, learner.state(), version + 1)  # as of the version the fit makes


def fit_context_normaliser(
    db: Database,
    *,
    space: ActionSpace,
    key: str,
    now: datetime,
    last: int = MAX_FIT_CONTEXTS,
    only_first: bool = False,
) -> LifecycleOutcome | None:
    """Fit a context normaliser on the raw x of the latest ``last`` decisions and make it
    the active one, as a new version (docs/decisions.md item 48).

    θ starts afresh at 0 (θ learned on another x' means something else) and the
    reward-model learner forgets its terms on x' (``RidgeIGW.forget_context``); H,
    the rest of its evidence, the baselines and the learning steps carry over. The contexts are read and the
    SVD runs outside any transaction; then, under the version lock, the state
    is saved as a snapshot, the normaliser stored and activated and the change
    logged. With ``only_first`` (the sweep's automatic fit) nothing happens,
    and None is returned, when a normaliser was ever fitted: checked under the
    lock, so of overlapping sweeps one fits.
    """
    _check_key(key)
    if not 2 <= last <= MAX_FIT_CONTEXTS:
        raise PermanentError(f"last must be in 2..{MAX_FIT_CONTEXTS}", field="last")
    with db.statement() as conn:
        if only_first and normaliser_store.any_fitted(conn):
            return None
        xs = normaliser_store.recent_contexts(conn, last)
    if xs.shape[0] < 2:
        raise Conflict("a normaliser needs at least 2 logged decisions", field="last")
    fitted = fit_normaliser(xs, rank=min(DEFAULT_RANK, xs.shape[0] - 1))

    def apply(conn: Conn) -> tuple[int, int | None, int | None, dict[str, Any]]:
        if only_first and normaliser_store.any_fitted(conn):
            raise _Skipped
        previous = normaliser_store.active_version(conn)
        version = normaliser_store.store(conn, fitted, xs.shape[0], now)
        normaliser_store.activate(conn, version)
        store.clear_theta(conn)
        _forget_context(conn, db.url, space)
        return store.steps(conn), None, None, {"normaliser": version, "previous": previous, "fitted_on": xs.shape[0]}

    try:
        return _change(db, kind="normaliser", key=key, space=space, now=now, apply=apply)
    except _Skipped:
        return None


def fit_when_due(db: Database, *, space: ActionSpace, now: datetime, after: int) -> LifecycleOutcome | None:
    """The automatic fit: once there are ``after`` decisions (0: never) and no normaliser was
    ever fitted. Idempotent; overlapping callers fit once (the check is repeated under the lock)."""
    if after <= 0:
        return None
    with db.statement() as conn:
        if normaliser_store.any_fitted(conn) or not normaliser_store.decisions_at_least(conn, after):
            return None
    return fit_context_normaliser(db, space=space, key=AUTO_FIT_KEY, now=now, only_first=True)
