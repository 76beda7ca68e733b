"""A person's review of a draft: approve, reject, edit its caption (docs/review.md)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.store.db import Conn


def set_review(conn: Conn, post_id: UUID, review: str, now: datetime) -> None:
    conn.execute("update posts set review = %s, reviewed_at = %s where post_id = %s", (review, now, post_id))


def set_edited_caption(conn: Conn, post_id: UUID, caption: str, now: datetime) -> None:
    """The person's caption beside the generated one; the decision records that a person changed the post."""
    conn.execute("update posts set edited_caption = %s, edited_at = %s where post_id = %s", (caption, now, post_id))
    conn.execute("update decisions set edited = true where post_id = %s and not edited", (post_id,))


def requires_approval(conn: Conn, business_id: UUID) -> bool:
    row = conn.execute("select require_approval from profiles where business_id = %s", (business_id,)).fetchone()
    return bool(row is not None and row[0])
