"""Profiles given on the command line: a JSON file, validated as save_profile validates a
body (``shared.api.ProfileRequest``), or the built-in sample."""

from __future__ import annotations

from pathlib import Path

from shared.api import ProfileRequest
from shared.core.profile import Profile

SAMPLE = ProfileRequest(
    name="Acme Analytics",
    business_types=["Technology", "B2B"],
    industries=["Software"],
    description="Dashboards that small operations teams set up in an afternoon.",
    brand_voice="Confident, plain-spoken",
    brand_tone="Warm",
    audience="Operations leads at companies of 20-200 people",
    colours=["navy", "teal"],
    time_zone="Europe/Berlin",
    follower_counts={"instagram": 4200, "x": 2100, "linkedin": 8800, "facebook": 3100},
)


def load_profile(path: Path | None) -> Profile:
    """The profile of ``path`` (the sample without one); the command line is an operator's
    tool, so the file may name the owner."""
    request = SAMPLE if path is None else ProfileRequest.model_validate_json(path.read_bytes())
    return request.to_profile(request.owner_id)
