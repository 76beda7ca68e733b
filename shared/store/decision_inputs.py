"""Everything a decision reads, in one round trip (a pipeline of reads)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from shared.core.best_time import SlotStat
from shared.core.profile import Profile
from shared.core.variety import DEFAULT_WINDOW
from shared.store.db import Conn
from shared.store.policy import PlatformPolicy, platform_policy_from_rows, platform_policy_query
from shared.store.profiles import profile_from_row, profile_query
from shared.store.slots import own_slots_query, shared_slots_query, slot_stats

DEFAULT_LOOKBACK = DEFAULT_WINDOW - 1
# The latest posts' actions of a business on a platform, newest first.
_RECENT_ACTIONS = (
    "select d.action from posts p join decisions d on d.post_id = p.post_id"
    " where p.business_id = %s and p.platform = %s order by p.created_at desc limit %s"
)


@dataclass(frozen=True)
class DecisionInputs:
    profile: Profile | None
    exists: bool  # the post of this idempotency key was generated before
    policy: PlatformPolicy
    recent_posts: int = 0  # the business's posts generated since ``since``, counted up to ``cap``
    # The actions of the business's latest posts on the platform, newest first, as many as its
    # variety cap looks back (docs/variety.md).
    recent_actions: tuple[dict[str, str], ...] = ()
    # With ``slots``: the business's and everyone's rewards per slot (docs/best-time.md).
    own_slots: tuple[SlotStat, ...] = ()
    shared_slots: tuple[SlotStat, ...] = ()


def load_decision_inputs(
    conn: Conn,
    business_id: UUID,
    post_id: UUID,
    platform: str,
    arrays: Sequence[str] = (),
    *,
    since: datetime | None = None,
    cap: int = 0,
    slots: bool = False,
) -> DecisionInputs:
    """Profile, existing post, the platform's policy (with the active normaliser's version
    and the learner's ``arrays``) and, with ``since``, how many posts the business generated
    since then (up to ``cap``: the index read stops there, whatever the business's history).
    The policy is one statement (one snapshot); the reads share one network round trip.
    The normaliser's arrays come from the cache (``store.normalisers.get``), not from here."""
    with conn.pipeline():
        profile = conn.execute(*profile_query(business_id))
        existing = conn.execute("select 1 from posts where post_id = %s", (post_id,))
        policy = conn.cursor(binary=True).execute(*platform_policy_query(platform, arrays))
        # As many as the default variety cap looks back, through posts_business_created. A
        # constant limit: the planner then reads the newest few through the index (a limit read
        # from the profile in the same statement is unknown when planning, and at 10⁶ posts it
        # chose to sort the business's every post: 5 → 60 ms per decision, docs/performance.md).
        actions = conn.execute(_RECENT_ACTIONS, (business_id, platform, DEFAULT_LOOKBACK))
        # A draft left unscheduled goes out at the best time: its inputs ride in the same trip.
        own = conn.execute(*own_slots_query(business_id, platform)) if slots else None
        shared = conn.execute(*shared_slots_query(platform)) if slots else None
        recent = (
            None
            if since is None
            else conn.execute(
                "select count(*) from (select 1 from posts where business_id = %s and created_at >= %s limit %s) r",
                (business_id, since, cap),
            )
        )
    row = profile.fetchone()
    counted = None if recent is None else recent.fetchone()
    found = None if row is None else profile_from_row(row)
    recent_actions = [a for (a,) in actions.fetchall()]
    if found is not None and found.variety.lookback > DEFAULT_LOOKBACK:
        # A longer window than the default: the rest, in a second round trip.
        recent_actions = [a for (a,) in conn.execute(_RECENT_ACTIONS, (business_id, platform, found.variety.lookback))]
    return DecisionInputs(
        profile=found,
        exists=existing.fetchone() is not None,
        policy=platform_policy_from_rows(policy.fetchall()),
        recent_posts=0 if counted is None else int(counted[0]),
        recent_actions=tuple(dict(a) for a in recent_actions[: 0 if found is None else found.variety.lookback]),
        own_slots=() if own is None else tuple(slot_stats(own.fetchall())),
        shared_slots=() if shared is None else tuple(slot_stats(shared.fetchall())),
    )
