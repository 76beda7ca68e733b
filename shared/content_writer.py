"""The content pipeline: prompts → caption → image, through whichever providers are configured.

It talks to providers only through their interfaces (``TextModel``,
``ImageModel``, ``ImageStore``) and never to the database: the service that
calls it holds no transaction while it runs (docs/spec.md §7).
"""

from __future__ import annotations

from shared.core.content import Content, ContentRequest
from shared.core.prompts import CAPTION_SYSTEM, GENERATOR_SYSTEM, clean_caption, fill_caption, parse_prompt_pair
from shared.errors import ProviderUnavailable
from shared.image_store import ImageStore
from shared.llm.model import ImageModel, TextModel


class ContentWriter:
    """Writes a post's caption (text model) and image (image model + store); each part optional."""

    def __init__(
        self, text: TextModel | None = None, image: ImageModel | None = None, images: ImageStore | None = None
    ) -> None:
        if (image is None) != (images is None):
            raise ValueError("an image model needs an image store, and the other way round")
        self.text, self.image, self.images = text, image, images

    @property
    def source(self) -> str:
        parts = [self.text.name if self.text else "offline"]
        if self.image is not None:
            parts.append(self.image.name)
        return "+".join(parts)

    def write(self, request: ContentRequest) -> Content:
        caption_prompt, image_prompt = request.caption_prompt, request.image_prompt
        caption = request.offline_caption
        if self.text is not None:
            answer = self.text.complete(request.generator_prompt, system=GENERATOR_SYSTEM, json_object=True)
            try:
                pair = parse_prompt_pair(answer)
            except ValueError as exc:
                # The model ignored the format: a new attempt (the caller's retry) may well succeed.
                raise ProviderUnavailable(f"{self.text.name} answered prompts that are not usable: {exc}") from None
            caption_prompt, image_prompt = pair.caption_prompt, pair.image_prompt
            caption = clean_caption(self.text.complete(caption_prompt, system=CAPTION_SYSTEM))
            if not caption:
                raise ProviderUnavailable(f"{self.text.name} answered an empty caption")
        filled = fill_caption(image_prompt, caption)
        image_url = None
        if self.image is not None and self.images is not None:
            image = self.image.generate(filled)
            image_url = self.images.put(f"{request.post_id}.{image.extension}", image.data, image.mime_type)
        return Content(
            caption_prompt=caption_prompt, image_prompt=filled, caption=caption, image_url=image_url, source=self.source
        )
