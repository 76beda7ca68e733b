"""A business profile, as the product reads it (pure data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

from shared.core.context import FloatArray
from shared.core.variety import VarietyCap


@dataclass(frozen=True)
class Profile:
    business_id: UUID
    name: str
    business_types: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    description: str = ""
    brand_voice: str = ""
    brand_tone: str = ""
    audience: str = ""
    colours: tuple[str, ...] = ()
    time_zone: str = "UTC"
    embedding: FloatArray | None = None  # shape (384,)
    follower_counts: Mapping[str, int] = field(default_factory=dict)
    owner_id: UUID | None = None
    require_approval: bool = False  # drafts are published only once a person approved them (docs/review.md)
    # How often a recipe may repeat on a platform (docs/variety.md).
    variety: VarietyCap = field(default_factory=VarietyCap)

    def text(self) -> str:
        """The profile as one text, for the embedder when no embedding is stored."""
        parts = [
            self.name,
            ", ".join(self.business_types),
            ", ".join(self.industries),
            self.description,
            self.brand_voice,
            self.audience,
        ]
        return ". ".join(p for p in parts if p)
