"""Which businesses a signed-in user may act on: the ones they own."""

from __future__ import annotations

from uuid import UUID

from shared.auth import Caller, Forbidden
from shared.store import profiles as profile_store
from shared.store.db import Database


def check_business(db: Database, caller: Caller, business_id: UUID) -> None:
    """Users act only on businesses they own; services, the webhook and local runs on any."""
    if caller.kind != "user":
        return
    with db.transaction() as conn:
        owner = profile_store.owner_of_business(conn, business_id)
    # An unknown business and someone else's answer alike, so ids cannot be probed.
    if owner is None or str(owner) != caller.subject:
        raise Forbidden("not your business", field="business_id")


def check_post(db: Database, caller: Caller, post_id: UUID) -> None:
    if caller.kind != "user":
        return
    with db.transaction() as conn:
        owner = profile_store.owner_of_post(conn, post_id)
    if owner is None or str(owner) != caller.subject:
        raise Forbidden("not your post", field="post_id")
