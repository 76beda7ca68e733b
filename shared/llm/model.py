"""What the content pipeline needs from a provider; nothing vendor-specific."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    mime_type: str  # e.g. "image/png"

    @property
    def extension(self) -> str:
        return {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(self.mime_type, "bin")


class TextModel(Protocol):
    """A chat model that answers one prompt with text."""

    name: str

    def complete(self, prompt: str, *, system: str | None = None, json_object: bool = False) -> str:
        """The model's answer. Raises ProviderRefused (permanent) or ProviderUnavailable (transient)."""
        ...


class ImageModel(Protocol):
    """A model that draws one image from a prompt."""

    name: str

    def generate(self, prompt: str) -> GeneratedImage:
        """The image. Raises ProviderRefused (permanent) or ProviderUnavailable (transient)."""
        ...
