"""update_policy: apply one reward's softmax policy-gradient step, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from shared.errors import Conflict, NotFound
from shared.faults import fault_point
from shared.policy import PolicyParams, gradient
from shared.store import policy as policy_store
from shared.store import posts as post_store
from shared.store import rewards as reward_store
from shared.store.db import Database


@dataclass(frozen=True)
class UpdateOutcome:
    post_id: UUID
    applied: bool  # False: this update had been applied before
    version: int
    advantage: float | None


class _AlreadyApplied(Exception):
    """Raised inside the transaction so that it rolls back its version bump."""


def update_policy(db: Database, post_id: UUID, now: datetime, params: PolicyParams) -> UpdateOutcome:
    with db.transaction() as conn:
        done = policy_store.applied_version(conn, post_id)
        if done is not None:
            return UpdateOutcome(post_id, False, done, None)
        reward = reward_store.get_reward(conn, post_id)
        if reward is None:
            raise NotFound("no reward for this post", field="post_id")
        if reward.value is None or reward.baseline_before is None:
            raise Conflict("the reward of this post is not final", field="post_id")
        decision = post_store.get_decision(conn, post_id)
        assert decision is not None
    advantage = reward.value - reward.baseline_before
    deltas = gradient(decision.choices, advantage, params)
    try:
        with db.transaction() as conn:
            version = policy_store.claim_update(conn, post_id, reward.value, advantage, now)
            if version is None:
                raise _AlreadyApplied
            fault_point("update_policy.after_claim")
            policy_store.apply_deltas(conn, decision.platform, decision.time_bucket, deltas, decision.x)
            fault_point("update_policy.after_apply")
    except _AlreadyApplied:
        with db.transaction() as conn:
            v = policy_store.applied_version(conn, post_id)
        assert v is not None
        return UpdateOutcome(post_id, False, v, None)
    fault_point("update_policy.after_commit")
    return UpdateOutcome(post_id, True, version, advantage)
