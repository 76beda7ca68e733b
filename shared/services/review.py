"""A person's review of a draft (docs/review.md): approve, reject (final), edit the caption.

Only drafts are reviewed: once a post is published its review is what it was. Each action
sets a state, so the same call again changes nothing; a rejected draft stays rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.errors import Conflict, NotFound
from shared.store import posts as post_store
from shared.store import reviews as review_store
from shared.store.db import Database

ReviewAction = Literal["approve", "reject", "edit"]


@dataclass(frozen=True)
class Reviewed:
    post_id: UUID
    review: str
    caption: str | None  # as generated
    edited_caption: str | None
    changed: bool
    message: str


def apply_review(db: Database, post_id: UUID, action: ReviewAction, caption: str | None, now: datetime) -> Reviewed:
    with db.transaction() as conn:
        post = post_store.get_post(conn, post_id, for_update=True)
        if post is None:
            raise NotFound("no such post", field="post_id")
        if post.status != "generated":
            raise Conflict("the post was published: only drafts are reviewed", field="post_id")
        if post.review == "rejected" and action != "reject":
            raise Conflict("the draft was rejected, which is final: generate another post", field="action")
        review, edited = post.review, post.edited_caption
        if action == "edit":
            if caption is None:
                raise ValueError("an edit needs a caption")  # the request model refuses it first
            changed = caption != post.edited_caption
            if changed:
                review_store.set_edited_caption(conn, post_id, caption, now)
            edited = caption
        else:
            review = "approved" if action == "approve" else "rejected"
            changed = review != post.review
            if changed:
                review_store.set_review(conn, post_id, review, now)
    return Reviewed(post_id, review, post.caption, edited, changed, _MESSAGES[action] if changed else _AGAIN[action])


_MESSAGES = {
    "approve": "approved: the draft may be published",
    "reject": "rejected: the draft is never published and never learned from",
    "edit": "caption edited: the person's caption goes out, the generated one is kept beside it",
}
_AGAIN = {
    "approve": "nothing changed: the draft was approved before",
    "reject": "nothing changed: the draft was rejected before",
    "edit": "nothing changed: the draft already has this caption",
}
