"""Profiles given on the command line: a JSON file (strictly validated) or the built-in sample."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.core.context import EMBEDDING_DIM
from shared.core.profile import Profile

_NAMESPACE = uuid.UUID("0b6f7a52-8a39-4f38-9b0e-2a7d9c51e0aa")

Text = Annotated[str, Field(max_length=2000)]
Words = Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=20)]


class ProfileFile(BaseModel):
    """A business profile as JSON. Without ``business_id`` one is derived from the name (stable across runs)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    business_id: uuid.UUID | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    business_types: Words = []
    industries: Words = []
    description: Text = ""
    brand_voice: Text = ""
    brand_tone: Text = ""
    audience: Text = ""
    colours: Words = []
    time_zone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    embedding: (
        Annotated[
            list[Annotated[float, Field(allow_inf_nan=False)]],
            Field(min_length=EMBEDDING_DIM, max_length=EMBEDDING_DIM),
        ]
        | None
    ) = None
    follower_counts: dict[str, Annotated[int, Field(ge=0)]] = {}

    def to_profile(self) -> Profile:
        import numpy as np

        return Profile(
            business_id=self.business_id or uuid.uuid5(_NAMESPACE, self.name),
            name=self.name,
            business_types=tuple(self.business_types),
            industries=tuple(self.industries),
            description=self.description,
            brand_voice=self.brand_voice,
            brand_tone=self.brand_tone,
            audience=self.audience,
            colours=tuple(self.colours),
            time_zone=self.time_zone,
            embedding=None if self.embedding is None else np.asarray(self.embedding, dtype=np.float64),
            follower_counts=dict(self.follower_counts),
        )


SAMPLE = ProfileFile(
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
    if path is None:
        return SAMPLE.to_profile()
    return ProfileFile.model_validate_json(path.read_bytes()).to_profile()
