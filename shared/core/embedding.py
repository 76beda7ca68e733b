"""The text embedder interface (384-D, all-MiniLM-L6-v2 family)."""

from __future__ import annotations

from typing import Protocol

from shared.core.context import FloatArray


class Embedder(Protocol):
    def embed(self, text: str) -> FloatArray:
        """A (384,) embedding of ``text``."""
        ...


class EmbedderSource(Protocol):
    def get(self) -> Embedder | None:
        """The embedder, loaded now if it was not yet; None when none is configured or installed."""
        ...
