"""The second half of generate_post: a provider writes the content of a committed post.

The post and its decision are committed first ('pending'); the providers run
here with no transaction open; the result is stored in a second transaction.
A redelivery of the same request finds the post and, if its content is not
'done', runs this again, so a crash or a provider outage never loses the
decision and never stores content twice.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.content_writer import ContentWriter
from shared.core.content import ContentRequest
from shared.errors import ProviderRefused
from shared.faults import fault_point
from shared.logs import log
from shared.store import content as content_store
from shared.store import posts as post_store
from shared.store.db import Database


def complete_content(db: Database, post_id: UUID, writer: ContentWriter, now: datetime) -> None:
    """Write the content of ``post_id`` unless it is done; raises the provider's error after recording a refusal."""
    with db.transaction() as conn:
        post = post_store.get_post(conn, post_id)
    if post is None or post.content_status == "done":
        return
    request = ContentRequest(
        post_id=post_id,
        generator_prompt=post.generator_prompt or "",
        caption_prompt=post.caption_prompt,
        image_prompt=post.image_prompt,
        offline_caption=post.caption or "",
    )
    try:
        content = writer.write(request)  # network calls: no transaction is open here
        fault_point("content.after_providers")
    except ProviderRefused as exc:
        with db.transaction() as conn:
            content_store.record_failure(conn, post_id, exc.message, now)
        log("WARNING", "content refused", post_id=str(post_id), source=writer.source, error=exc.message)
        raise
    with db.transaction() as conn:
        stored = content_store.store_content(conn, post_id, content, now)
    log("INFO", "content stored", post_id=str(post_id), source=content.source, duplicate=not stored)
