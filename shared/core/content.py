"""A post's content: what it is made from and what the providers made (pure types; the
writer that calls the providers is shared/content_writer.py)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class ContentRequest:
    """What a post's content is made from: the stored prompts and the offline caption."""

    post_id: UUID
    generator_prompt: str
    caption_prompt: str  # the template's, used when no text model is configured
    image_prompt: str  # with the {{CAPTION}} placeholder
    offline_caption: str


@dataclass(frozen=True)
class Content:
    caption_prompt: str
    image_prompt: str  # the placeholder replaced by the caption: what the image model was given
    caption: str
    image_url: str | None
    source: str  # e.g. "xai", "xai+gemini", "offline+gemini"
