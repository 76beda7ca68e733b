"""Everything a decision reads, in one round trip (a pipeline of three reads)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from shared.profile import Profile
from shared.store.db import Conn
from shared.store.policy import PlatformPolicy, platform_policy_from_rows, platform_policy_query
from shared.store.profiles import profile_from_row, profile_query


@dataclass(frozen=True)
class DecisionInputs:
    profile: Profile | None
    exists: bool  # the post of this idempotency key was generated before
    policy: PlatformPolicy


def load_decision_inputs(
    conn: Conn, business_id: UUID, post_id: UUID, platform: str, arrays: Sequence[str] = ()
) -> DecisionInputs:
    """Profile, existing post, and the platform's policy (with the active
    normaliser's version and the learner's ``arrays``); the policy is one statement (one snapshot), the
    three reads share one network round trip. The normaliser's arrays come
    from the cache (``store.normalisers.get``), not from here."""
    with conn.pipeline():
        profile = conn.execute(*profile_query(business_id))
        existing = conn.execute("select 1 from posts where post_id = %s", (post_id,))
        policy = conn.cursor(binary=True).execute(*platform_policy_query(platform, arrays))
    row = profile.fetchone()
    return DecisionInputs(
        profile=None if row is None else profile_from_row(row),
        exists=existing.fetchone() is not None,
        policy=platform_policy_from_rows(policy.fetchall()),
    )
