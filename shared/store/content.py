"""A post's content columns: the generator prompt, provider output, image URL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.core.content import Content
from shared.store.db import Conn


def store_content(conn: Conn, post_id: UUID, content: Content, now: datetime) -> bool:
    """Store the provider's content once; False when another delivery stored it first."""
    row = conn.execute(
        "update posts set caption_prompt = %s, image_prompt = %s, caption = %s, image_url = %s,"
        " content_source = %s, content_status = 'done', content_error = null, content_at = %s"
        " where post_id = %s and content_status <> 'done' returning post_id",
        (
            content.caption_prompt,
            content.image_prompt,
            content.caption,
            content.image_url,
            content.source,
            now,
            post_id,
        ),
    ).fetchone()
    return row is not None


def record_failure(conn: Conn, post_id: UUID, error: str, now: datetime) -> None:
    """A provider refused: the post keeps its decision and offline caption; the reason is kept."""
    conn.execute(
        "update posts set content_status = 'failed', content_error = %s, content_at = %s"
        " where post_id = %s and content_status <> 'done'",
        (error[:1000], now, post_id),
    )
