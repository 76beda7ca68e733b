"""The text embedder interface (384-D, all-MiniLM-L6-v2 family)."""

from __future__ import annotations

from typing import Protocol

from shared.context import FloatArray


class Embedder(Protocol):
    def embed(self, text: str) -> FloatArray:
        """A (384,) embedding of ``text``."""
        ...
