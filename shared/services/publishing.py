"""What happens to a post on its platform: published, deleted."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.core.reward import RewardConfig
from shared.core.tasks import Task, reward_task
from shared.errors import Conflict, PermanentError
from shared.store import outbox
from shared.store import posts as post_store
from shared.store import reviews as review_store
from shared.store import rewards as reward_store
from shared.store import snapshots as snapshot_store
from shared.store.db import Conn

# Timestamps from the platforms may run a little ahead of our clock.
CLOCK_SKEW = timedelta(minutes=5)


def not_in_future(when: datetime, now: datetime, field: str) -> None:
    if when > now + CLOCK_SKEW:
        raise PermanentError(f"{field} is in the future", field=field)


def publish(
    conn: Conn, post: post_store.PostRow, media_id: str, posted_at: datetime, config: RewardConfig, now: datetime
) -> tuple[Task, ...]:
    """Mark ``post`` posted, start its reward clock and put its reward task in the outbox.

    The same event twice changes nothing; a different publish of the same
    post is a conflict, not an overwrite.
    """
    not_in_future(posted_at, now, "posted_at")
    if post.status != "generated":
        if post.media_id == media_id and post.posted_at == posted_at:
            return ()
        raise Conflict("post was already published with another media_id or posted_at", field="media_id")
    if post.review == "rejected":
        raise Conflict("the draft was rejected: it is never published", field="post_id")
    if post.review != "approved" and review_store.requires_approval(conn, post.business_id):
        raise Conflict("this business publishes a draft only once a person approved it (review_post)", field="post_id")
    if post.created_at is not None and posted_at < post.created_at - CLOCK_SKEW:
        raise PermanentError("posted_at is before the post was generated", field="posted_at")
    post_store.mark_posted(conn, post.post_id, media_id, posted_at)
    eligible_at = posted_at + timedelta(hours=config.window_hours)
    finalize_by = posted_at + timedelta(hours=config.max_wait_hours)
    reward_store.create_pending(conn, post.post_id, eligible_at, finalize_by)
    task = reward_task(post.post_id, eligible_at)
    outbox.add_task(conn, task, now)
    return (task,)


def delete(conn: Conn, post: post_store.PostRow, deleted_at: datetime, now: datetime) -> bool:
    """Mark ``post`` deleted; False when it already was (the first deletion stands)."""
    not_in_future(deleted_at, now, "deleted_at")
    if post.posted_at is None:
        raise Conflict("post was never published", field="post_id")
    if deleted_at < post.posted_at:
        raise PermanentError("deleted_at is before posted_at", field="deleted_at")
    if post.status == "deleted":
        return False
    last = max((snap.observed_at for snap in snapshot_store.list_snapshots(conn, post.post_id)), default=None)
    if last is not None and deleted_at < last - CLOCK_SKEW:
        raise PermanentError("deleted_at is before a snapshot observed the post alive", field="deleted_at")
    post_store.mark_deleted(conn, post.post_id, deleted_at)
    return True
