"""update_policy: learn from one reward (with any others pending), exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.core.action_space import ActionSpace
from shared.core.policy import LoggedUpdate, PolicyParams, summed_step
from shared.errors import Conflict, NotFound
from shared.faults import fault_point
from shared.logs import log
from shared.services import learner_state
from shared.store import learner as learner_store
from shared.store import lifecycle as lifecycle_store
from shared.store import normalisers as normaliser_store
from shared.store import policy as policy_store
from shared.store import posts as post_store
from shared.store.db import Conn, Database
from shared.store.posts import PendingUpdate


@dataclass(frozen=True)
class UpdateOutcome:
    post_id: UUID
    applied: bool
    version: int  # the version the update made; when not applied now, the current one or the earlier update's
    advantage: float | None
    # Why: "applied" now, "already_applied" by an earlier delivery, "holdback" (never learned
    # from), or "missing" (no snapshot arrived in time and no default reward: nothing to learn).
    reason: Reason = "applied"


Reason = Literal["applied", "already_applied", "holdback", "missing"]


def describe(outcome: UpdateOutcome) -> str:
    """What an update_policy call did, in a sentence a person reads in a log or a shell."""
    v = outcome.version
    return {
        "applied": f"applied: the policy learned from this reward and is now at version {v}",
        "already_applied": f"already applied at version {v}: an earlier delivery learned from it, nothing changed",
        "holdback": f"not learned from: a holdback post (the fixed baseline action); the policy stays at version {v}",
        "missing": (
            f"nothing to learn: the reward is missing (no snapshot in time and no default reward); "
            f"the policy stays at version {v}"
        ),
    }[outcome.reason]


# How many pending updates one delivery applies under one version lock.
GROUP = 32


def _logged_updates(conn: Conn, pending: list[PendingUpdate]) -> list[LoggedUpdate]:
    """Each decision's step along the x' it was chosen with: x mapped through the
    normaliser of its own version (cached by version; None: the raw x).

    A decision made under another normaliser than the active one (before a
    fit or activation reset θ for the new x') updates H only: its x' means
    something else to the current θ. The caller holds the version lock, so
    the active normaliser cannot change meanwhile.
    """
    active = normaliser_store.active_version(conn)
    versions = {p.decision.normaliser_version for p in pending if p.decision.normaliser_version is not None}
    normalisers = normaliser_store.fetch(conn, versions) if versions else {}
    updates = []
    for p in pending:
        d = p.decision
        n = normalisers.get(d.normaliser_version) if d.normaliser_version is not None else None
        x = d.x if n is None else n.apply(d.x, d.platform)
        learn_theta = d.normaliser_version == active
        updates.append(
            LoggedUpdate(d.platform, d.time_bucket, d.choices, x, p.reward - p.baseline_before, theta=learn_theta)
        )
    return updates


def apply_update(
    db: Database,
    post_id: UUID,
    now: datetime,
    params: PolicyParams,
    *,
    group: int = GROUP,
    space: ActionSpace,
    snapshot_every: int = 0,
) -> UpdateOutcome:
    """Apply the reward of ``post_id`` once, with any other pending ones (up to ``group``).

    Under the version lock, the final rewards not yet learned from are applied
    together: one ledger row and one version per reward. With the reward-model
    learner (``params.learner`` 'bandit') its state is read, the batch learned
    (``RidgeIGW.learn``, the same call the library's users make) and the state
    written back; with the gradient, H and θ are written once with the summed
    steps, which equals applying them one by one (``summed_step``). A later
    delivery of a task whose update came in an earlier group finds its ledger
    row and changes nothing.

    Each reward is learned along the decision's x' (its x through the normaliser
    of its own version, ``_outcomes`` and ``_logged_updates``); a decision made
    under another normaliser than the active one teaches nothing about x'.

    A holdback decision is never learned from (its action was not drawn from
    the policy): its reward is marked handled and nothing else changes. With
    ``snapshot_every`` = N, a group that crosses a multiple of N versions
    saves a snapshot of the state it leaves, in the same transaction.
    """
    with db.statement() as conn:
        found = post_store.update_inputs(conn, post_id)
    if found is None:
        raise NotFound("no reward for this post", field="post_id")
    if found.applied_version is not None:
        return UpdateOutcome(post_id, False, found.applied_version, None, "already_applied")
    if found.status == "missing" and found.value is None:
        with db.statement() as conn:
            return UpdateOutcome(post_id, False, policy_store.policy_version(conn), None, "missing")
    if found.value is None or found.baseline_before is None:
        raise Conflict("the reward of this post is not final yet", field="post_id")
    if found.decision is not None and found.decision.holdback:
        with db.transaction() as conn:
            policy_store.mark_handled(conn, post_id)
            return UpdateOutcome(post_id, False, policy_store.policy_version(conn), None, "holdback")
    with db.transaction() as conn:
        version = policy_store.lock_version(conn)
        pending = post_store.pending_updates(conn, post_id, group)
        if not pending or pending[0].post_id != post_id:
            # Applied by another delivery's group while this one waited for the lock.
            applied = policy_store.applied_version(conn, post_id)
            assert applied is not None
            return UpdateOutcome(post_id, False, applied, None, "already_applied")
        advantages = [p.reward - p.baseline_before for p in pending]
        policy_store.record_updates(
            conn, [(p.post_id, p.reward, a) for p, a in zip(pending, advantages, strict=True)], version + 1, now
        )
        fault_point("update_policy.after_claim")
        if params.learner == "bandit":
            loaded = learner_state.load(conn, db.url, space, version)
            if not loaded.fits:
                # The checkpoint was learned under another action space (its layout is by
                # index): keep it as a snapshot, then start afresh (docs/decisions.md item 54).
                key = f"before-space-change-v{version}"
                lifecycle_store.save_snapshot(conn, key, "", "before_space_change", space.version, now)
                log("WARNING", "the learner's state is for another action space: saved and started afresh", key=key)
            loaded.learner.learn(learner_state.outcomes(conn, pending, space))
            loaded.version, loaded.since = version + len(pending), loaded.since + 1
            # A checkpoint every few groups (and before a snapshot, which copies it); the
            # solution a decision reads at every version.
            snapshot_due = snapshot_every > 0 and loaded.version // snapshot_every > version // snapshot_every
            # A fresh start is pinned by a checkpoint at once (the ledger before it is not the learner's).
            checkpoint_due = loaded.since >= learner_state.CHECKPOINT_GROUPS or not loaded.fits or loaded.fresh
            if checkpoint_due or snapshot_due:
                learner_store.write_checkpoint(conn, loaded.learner.state(), loaded.version)
                loaded.fits, loaded.since, loaded.fresh = True, 0, False
            else:
                learner_store.write_solution(conn, loaded.learner.solution())
        else:
            policy_store.apply_summed(conn, *summed_step(_logged_updates(conn, pending), params))
        fault_point("update_policy.after_apply")
        last = version + len(pending)
        if snapshot_every > 0 and last // snapshot_every > version // snapshot_every:
            lifecycle_store.save_snapshot(conn, f"periodic-v{last}", "", "periodic", space.version, now)
    if params.learner == "bandit":
        learner_state.keep(db.url, space, loaded)  # committed: the next update here starts from it
    fault_point("update_policy.after_commit")
    return UpdateOutcome(post_id, True, version + 1, advantages[0])
