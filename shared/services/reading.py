"""What an integrator reads of a business (read_business, docs/read-api.md): its posts a page
at a time, and when to post."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from shared.errors import NotFound, PermanentError
from shared.store import listings as listing_store
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
