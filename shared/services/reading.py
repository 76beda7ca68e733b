"""What an integrator reads of a business (read_business, docs/read-api.md): its posts a page
at a time, and what the policy would choose for it now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.core.action_space import ActionSpace
from shared.core.context import PLATFORMS, TIME_BUCKETS, context_vector
from shared.core.policy import PolicyParams
from shared.core.preferences import probabilities_at
from shared.errors import NotFound, PermanentError
from shared.presentation.data import WhatWorksRow
from shared.presentation.view import DimensionView, bars
from shared.services.dashboard import what_works_rows
from shared.store import listings as listing_store
from shared.store import policy as policy_store
from shared.store import profiles as profile_store
from shared.store.db import Database
from shared.store.listings import PostListing


@dataclass(frozen=True)
class PostPage:
    posts: list[PostListing]
    next_cursor: str | None  # None: no more


def _cursor(post: PostListing) -> str:
    return f"{post.created_at.isoformat()}|{post.post_id}"


def _keyset(cursor: str) -> tuple[datetime, UUID]:
    try:
        when, post_id = cursor.split("|")
        at = datetime.fromisoformat(when)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at, UUID(post_id)
    except ValueError:
        raise PermanentError("not a cursor this API gave out", field="cursor") from None


def business_posts(
    db: Database, business_id: UUID, limit: int, cursor: str | None, platform: str | None = None
) -> PostPage:
    after = None if cursor is None else _keyset(cursor)
    with db.statement() as conn:
        if not profile_store.exists(conn, business_id):
            raise NotFound("no profile for this business", field="business_id")
        posts = listing_store.list_posts(conn, business_id, limit + 1, after, platform)
    more = len(posts) > limit
    posts = posts[:limit]
    return PostPage(posts, _cursor(posts[-1]) if more else None)


@dataclass(frozen=True)
class CellPreferences:
    platform: str
    time_bucket: str
    dimensions: tuple[DimensionView, ...]  # π of each value, the most likely marked


@dataclass(frozen=True)
class BusinessPreferences:
    policy_version: int
    # What the context is: the mean of the business's latest decisions, its profile's embedding
    # alone (no post yet), or nothing (neither: the policy at its mean context).
    context: Literal["recent_posts", "profile", "none"]
    context_posts: int
    cells: list[CellPreferences]
    what_works: list[WhatWorksRow]  # the evidence: what its own rewarded posts earned per value


def business_preferences(
    db: Database, space: ActionSpace, params: PolicyParams, business_id: UUID, platform: str | None = None
) -> BusinessPreferences:
    """What the policy would choose for this business now, in each platform and time bucket
    (of ``platform`` only when given): π at the business's own context, with its own terms."""
    with db.transaction() as conn:
        profile = profile_store.get_profile(conn, business_id)
        if profile is None:
            raise NotFound("no profile for this business", field="business_id")
        policy = policy_store.read_policy(conn, str(business_id))
        x, n = policy_store.business_context(conn, business_id)
    context: Literal["recent_posts", "profile", "none"] = "recent_posts"
    if x is None and profile.embedding is not None:
        x, _ = context_vector(profile.embedding, None)
        context = "profile"
    elif x is None:
        context = "none"
    cells = [
        CellPreferences(p, b, bars(space, probabilities_at(space, params, policy, p, b, x, str(business_id))))
        for p in PLATFORMS
        if platform in (None, p)
        for b in TIME_BUCKETS
    ]
    works = [r for r in what_works_rows(db, space, None, business_id) if platform in (None, r.platform)]
    return BusinessPreferences(policy.version, context, n, cells, works)
