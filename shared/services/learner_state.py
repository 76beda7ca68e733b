"""The reward-model learner's whole state at the current version: the latest checkpoint
(``store.learner``) plus the ledger's groups since, learned again through the library in
order; kept in this process by version, so a warm instance reads neither.

Writing the whole state (5 MB at the default space) on every update would cost more than
the learning; the checkpoint is written every ``CHECKPOINT_GROUPS`` groups and by every
lifecycle change, and the ledger, written in the same transactions, is the rest of the
record (docs/decisions.md item 54).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from shared.core.action_space import ActionSpace
from shared.core.bandit import DEFAULT_RANK, BanditParams, Decision, Outcome, RidgeIGW
from shared.store import learner as learner_store
from shared.store import normalisers as normaliser_store
from shared.store.db import Conn
from shared.store.posts import PendingUpdate

# Groups learned between checkpoints: a cold instance learns at most this many again.
CHECKPOINT_GROUPS: Final = 16


@dataclass
class Loaded:
    """The learner at ``version``; ``fits``: False when the checkpoint was learned under
    another action space (``learner`` is then a new one); ``since``: groups learned after
    the checkpoint; ``fresh``: there was no state at all (the learner never ran here, or
    was reset), so nothing before ``version`` is its to learn again."""

    learner: RidgeIGW
    version: int
    fits: bool
    since: int
    fresh: bool = False


# (database, action space version) → the state this process last committed. One entry per
# database: an instance serves one deployment.
_CACHE: dict[tuple[str, str], Loaded] = {}


def outcomes(conn: Conn, rows: list[PendingUpdate], space: ActionSpace) -> list[Outcome]:
    """What the learner learns from each reward: its decision's platform, time bucket, action
    (as indices of the current space), business, and x's whitened components under the
    normaliser it was chosen with. A decision made under another normaliser than the active
    one (the learner forgot the old x' when the new one came, ``forget_context``) teaches
    with components 0, as one made before any normaliser. A decision whose values are no
    longer all in the space (another action space) teaches nothing."""
    active = normaliser_store.active_version(conn)
    normaliser = normaliser_store.fetch(conn, {active})[active] if active is not None else None
    out = []
    for p in rows:
        d = p.decision
        chosen = d.action
        if any(chosen.get(dim.name) not in dim.values for dim in space.dimensions):
            continue
        action = tuple(dim.index(chosen[dim.name]) for dim in space.dimensions)
        seen = normaliser is not None and d.normaliser_version == active
        components = normaliser.components(d.x) if seen and normaliser is not None else np.zeros(0)
        out.append(Outcome(Decision(d.platform, d.time_bucket, components, action, str(p.business_id)), p.reward))
    return out


def load(conn: Conn, db_key: str, space: ActionSpace, version: int) -> Loaded:
    """The whole state at ``version`` (the caller holds the version lock, so it is current).
    A cached one of the same version is taken out of the cache: the caller owns it and puts
    it back with ``keep`` after its transaction commits."""
    cached = _CACHE.pop((db_key, space.version), None)
    if cached is not None and cached.version == version:
        # The version alone could match another history (a database restored from a backup,
        # or emptied): the stored solution's running figures must be the cached learner's too.
        meta = learner_store.read_arrays(conn, ("meta",)).get("meta")
        if meta is not None and np.array_equal(meta, cached.learner.meta()):
            return cached
    checkpoint, state = learner_store.read_statistics(conn)
    if not state and not learner_store.read_arrays(conn, ("meta",)):
        # No state: a new deployment, a reset, or one that ran the gradient until now. The
        # ledger's rewards so far were not this learner's: it starts at ``version``.
        return Loaded(RidgeIGW(space, BanditParams(), DEFAULT_RANK), version, True, 0, fresh=True)
    learner, fits = RidgeIGW.restore(space, BanditParams(), DEFAULT_RANK, state)
    if not fits:
        return Loaded(learner, version, False, 0)
    groups = learner_store.groups_between(conn, checkpoint, version)
    for group in groups:
        learner.learn(outcomes(conn, group, space))
    return Loaded(learner, version, True, len(groups))


def clear_cache() -> None:
    """Forget every kept state: the next update reads the checkpoint, as a new instance does."""
    _CACHE.clear()


def keep(db_key: str, space: ActionSpace, loaded: Loaded) -> None:
    """Remember a committed state for the next update on this instance."""
    _CACHE[(db_key, space.version)] = loaded


def materialise(conn: Conn, db_key: str, space: ActionSpace, version: int) -> RidgeIGW | None:
    """Write the checkpoint at ``version`` when groups were learned since the last one, so
    that ``learner_statistics`` is the whole current state (snapshots and export copy it).
    The learner; None when there is no state or the checkpoint belongs to another action
    space (left as it is)."""
    loaded = load(conn, db_key, space, version)
    if not loaded.fits or loaded.fresh:
        return None
    if loaded.since > 0:  # else the checkpoint is the current state already
        learner_store.write_checkpoint(conn, loaded.learner.state(), version)
    return loaded.learner
