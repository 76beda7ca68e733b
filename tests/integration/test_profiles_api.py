"""save_profile through HTTP on real Postgres (docs/profiles.md): a profile is created or
updated, its text embedded when no vector is given, a retry is the same business, and a bad
field is a 400 that changes nothing. Owners and users: tests/integration/test_auth.py."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from shared.api import PROFILE_NAMESPACE
from shared.core.profile import Profile
from shared.store.profiles import get_profile
from tests.support.functions import embedding, error_paths, generate, state_digest

BODY = {
    "name": "Northwind Bakery",
    "business_types": ["Food & Beverage", "Bakery"],
    "industries": ["Hospitality"],
    "description": "Sourdough and pastries, baked at dawn.",
    "time_zone": "Europe/Berlin",
    "follower_counts": {"instagram": 4200, "x": 900},
}


def stored(runtime, business_id) -> Profile:
    with runtime.db.statement() as conn:
        found = get_profile(conn, uuid.UUID(str(business_id)))
    assert found is not None
    return found


def vector(profile: Profile) -> np.ndarray:
    assert profile.embedding is not None
    return profile.embedding


def test_a_new_profile_is_created_embedded_from_its_text_and_a_retry_is_the_same_business(runtime, functions):
    status, created = functions.post("save_profile", BODY)
    assert status == 201 and created["created"] is True and created["embedded"] is True, created
    assert created["business_id"] == str(uuid.uuid5(PROFILE_NAMESPACE, "Northwind Bakery"))
    assert created["message"] == "created the profile of Northwind Bakery; its text was embedded"
    profile = stored(runtime, created["business_id"])
    assert (profile.time_zone, dict(profile.follower_counts)) == ("Europe/Berlin", {"instagram": 4200, "x": 900})
    text = "Northwind Bakery. Food & Beverage, Bakery. Hospitality. Sourdough and pastries, baked at dawn."
    np.testing.assert_allclose(vector(profile), runtime.embedder.embed(text), atol=1e-12)

    status, again = functions.post("save_profile", BODY)
    assert (status, again["business_id"], again["created"]) == (200, created["business_id"], False)
    again_stored = stored(runtime, created["business_id"])
    assert again_stored.description == profile.description
    np.testing.assert_array_equal(again_stored.embedding, profile.embedding)
    # The business can post at once.
    assert generate(functions, created["business_id"], "first-post")["context_fallback"] is False


def test_an_update_replaces_the_fields_and_embeds_the_new_text(runtime, functions):
    status, created = functions.post("save_profile", BODY)
    before = stored(runtime, created["business_id"])
    body = BODY | {"business_id": created["business_id"], "description": "Now also coffee.", "require_approval": True}
    status, updated = functions.post("save_profile", body)
    assert (status, updated["created"], updated["require_approval"]) == (200, False, True), updated
    after = stored(runtime, created["business_id"])
    assert (after.description, after.require_approval) == ("Now also coffee.", True)
    assert not np.allclose(vector(after), vector(before))


def test_a_given_embedding_is_stored_as_given(runtime, functions):
    vector = embedding(3)
    status, created = functions.post("save_profile", BODY | {"name": "Given Vector Co", "embedding": vector})
    assert (status, created["embedded"]) == (201, False), created
    np.testing.assert_array_equal(stored(runtime, created["business_id"]).embedding, np.asarray(vector))


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "Europe"}, "time_zone"),  # a folder of the zone database
        ({"name": ""}, "name"),
        ({"follower_counts": {"tiktok": 10}}, "follower_counts.tiktok.[key]"),
        ({"follower_counts": {"x": -1}}, "follower_counts.x"),
        ({"embedding": [0.0] * 12}, "embedding"),
        ({"colour": ["red"]}, "colour"),
        ({"business_id": "not-a-uuid"}, "business_id"),
    ],
)
def test_a_bad_field_is_a_400_naming_it_and_changes_nothing(runtime, functions, change, path):
    digest = state_digest(runtime)
    status, answer = functions.post("save_profile", BODY | change)
    assert status == 400 and error_paths(answer) == [path], answer
    assert state_digest(runtime) == digest
