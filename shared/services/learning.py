"""update_policy: apply one reward's softmax policy-gradient step, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from shared.errors import Conflict, NotFound
from shared.faults import fault_point
from shared.policy import LoggedUpdate, PolicyParams, summed_step
from shared.store import lifecycle as lifecycle_store
from shared.store import normalisers as normaliser_store
from shared.store import policy as policy_store
from shared.store import posts as post_store
from shared.store.db import Conn, Database
from shared.store.posts import DecisionRow


@dataclass(frozen=True)
class UpdateOutcome:
    post_id: UUID
    applied: bool  # False: this update had been applied before
    version: int
    advantage: float | None


# How many pending updates one delivery applies under one version lock.
GROUP = 32


def _logged_updates(conn: Conn, pending: list[tuple[UUID, float, float, DecisionRow]]) -> list[LoggedUpdate]:
    """Each decision's step along the x' it was chosen with: x mapped through the
    normaliser of its own version (cached by version; None: the raw x).

    A decision made under another normaliser than the active one (before a
    fit or activation reset θ for the new x') updates H only: its x' means
    something else to the current θ. The caller holds the version lock, so
    the active normaliser cannot change meanwhile.
    """
    active = normaliser_store.active_version(conn)
    versions = {d.normaliser_version for *_, d in pending if d.normaliser_version is not None}
    normalisers = normaliser_store.fetch(conn, versions) if versions else {}
    updates = []
    for _, reward, before, d in pending:
        n = normalisers.get(d.normaliser_version) if d.normaliser_version is not None else None
        x = d.x if n is None else n.apply(d.x, d.platform)
        learn_theta = d.normaliser_version == active
        updates.append(LoggedUpdate(d.platform, d.time_bucket, d.choices, x, reward - before, theta=learn_theta))
    return updates


def update_policy(
    db: Database,
    post_id: UUID,
    now: datetime,
    params: PolicyParams,
    *,
    group: int = GROUP,
    snapshot_every: int = 0,
    action_space: str = "",
) -> UpdateOutcome:
    """Apply the reward of ``post_id`` once, with any other pending ones (up to ``group``).

    Under the version lock, the final rewards not yet learned from are applied
    together: one ledger row and one version per reward, and H and θ written
    once with the summed steps, which equals applying them one by one
    (``summed_step``). A later delivery of a task whose update came in an
    earlier group finds its ledger row and changes nothing.

    Each step is along the decision's x' (its x through the normaliser of its
    own version, ``_logged_updates``); a decision made under another normaliser
    than the active one moves H only.

    A holdback decision is never learned from (its action was not drawn from
    the policy): its reward is marked handled and nothing else changes. With
    ``snapshot_every`` = N, a group that crosses a multiple of N versions
    saves a snapshot of the state it leaves, in the same transaction.
    """
    with db.statement() as conn:
        found = post_store.update_inputs(conn, post_id)
    if found is None:
        raise NotFound("no reward for this post", field="post_id")
    done, value, baseline_before, decision = found
    if done is not None:
        return UpdateOutcome(post_id, False, done, None)
    if value is None or baseline_before is None:
        raise Conflict("the reward of this post is not final", field="post_id")
    if decision is not None and decision.holdback:
        with db.transaction() as conn:
            policy_store.mark_handled(conn, post_id)
            return UpdateOutcome(post_id, False, policy_store.policy_version(conn), None)
    with db.transaction() as conn:
        version = policy_store.lock_version(conn)
        pending = post_store.pending_updates(conn, post_id, group)
        if not pending or pending[0][0] != post_id:
            # Applied by another delivery's group while this one waited for the lock.
            applied = policy_store.applied_version(conn, post_id)
            assert applied is not None
            return UpdateOutcome(post_id, False, applied, None)
        updates = _logged_updates(conn, pending)
        dh, dtheta = summed_step(updates, params)
        policy_store.record_updates(
            conn, [(p[0], p[1], u.advantage) for p, u in zip(pending, updates, strict=True)], version + 1, now
        )
        fault_point("update_policy.after_claim")
        policy_store.apply_summed(conn, dh, dtheta)
        fault_point("update_policy.after_apply")
        last = version + len(updates)
        if snapshot_every > 0 and last // snapshot_every > version // snapshot_every:
            lifecycle_store.save_snapshot(conn, f"periodic-v{last}", "", "periodic", action_space, now)
    fault_point("update_policy.after_commit")
    return UpdateOutcome(post_id, True, version + 1, updates[0].advantage)
