"""Business profiles: stored as given, with the embedding of the profile's text computed
here when the profile has none and an embedder is at hand (outside the transaction)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

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
