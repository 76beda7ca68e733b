"""Business profiles: stored as given, with the embedding of the profile's text computed
here when the profile has none and an embedder is at hand (outside the transaction)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from shared.auth import Forbidden
from shared.core.embedding import EmbedderSource
from shared.core.profile import Profile
from shared.store import profiles as profile_store
from shared.store.db import Database


def with_embedding(profile: Profile, embedders: EmbedderSource | None) -> Profile:
    """``profile`` with its text's embedding when it has none; as it is without an embedder
    (a decision then embeds the text itself, every time)."""
    if profile.embedding is not None or embedders is None:
        return profile
    model = embedders.get()
    return profile if model is None else dataclasses.replace(profile, embedding=model.embed(profile.text()))


def save_profiles(db: Database, profiles: Sequence[Profile], embedders: EmbedderSource | None = None) -> list[Profile]:
    """Create or replace each profile (by business id), all in one transaction; the profiles as stored."""
    stored = [with_embedding(p, embedders) for p in profiles]
    with db.transaction() as conn:
        for p in stored:
            profile_store.upsert_profile(conn, p)
    return stored


@dataclass(frozen=True)
class SavedProfile:
    profile: Profile  # as stored
    created: bool  # False: the business existed and was updated
    embedded: bool  # the embedding was computed here from the profile's text


def create_or_update_profile(
    db: Database, profile: Profile, embedders: EmbedderSource | None, *, user: UUID | None
) -> SavedProfile:
    """Create or update one business's profile (save_profile).

    A signed-in ``user`` owns what they create and may update only their own businesses
    (a business of someone else, or of no one, is answered as not theirs). A service's
    save keeps the stored owner unless it names one. The text is embedded before the
    transaction, which then locks the row, checks the owner and writes."""
    stored = with_embedding(profile, embedders)
    with db.transaction() as conn:
        found, owner = profile_store.owner_for_update(conn, profile.business_id)
        if user is not None and found and owner != user:
            raise Forbidden("not your business", field="business_id")
        if user is None and profile.owner_id is None and found:
            stored = dataclasses.replace(stored, owner_id=owner)
        profile_store.upsert_profile(conn, stored)
    return SavedProfile(stored, created=not found, embedded=stored.embedding is not profile.embedding)
