"""The embedded default: a private PostgreSQL (pgserver) under a data folder.

Kept behind this one module: pgserver has had no release since 2024, and a
swap should touch nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    _server: Any

    @property
    def url(self) -> str:
        uri: str = self._server.get_uri()
        return uri

    def stop(self) -> None:
        self._server.cleanup()


def start_embedded(data_dir: Path, *, stop_on_exit: bool = True) -> EmbeddedPostgres:
    """Start (or attach to) the server of ``data_dir``, creating it on first use."""
    from pgserver import get_server  # type: ignore[attr-defined]  # the cloud bundle does not ship it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop" if stop_on_exit else None)
    return EmbeddedPostgres(data_dir=data_dir, _server=server)
