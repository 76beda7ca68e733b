"""The embedded default: a private PostgreSQL (pgserver) under a data folder.

Kept behind this one module: pgserver has had no release since 2024, and a
swap should touch nothing else.
"""

from __future__ import annotations

import warnings
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


def server_module() -> Any:
    """pgserver, imported quietly. At import it asks platformdirs for a runtime folder, and
    without XDG_RUNTIME_DIR platformdirs warns and falls back to /tmp/runtime-<uid>. That
    folder serves, and the warning leaves the user nothing to act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver  # the cloud bundle does not ship it

    return pgserver


def start_embedded(data_dir: Path, *, stop_on_exit: bool = True) -> EmbeddedPostgres:
    """Start (or attach to) the server of ``data_dir``, creating it on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = server_module().get_server(data_dir, cleanup_mode="stop" if stop_on_exit else None)
    return EmbeddedPostgres(data_dir=data_dir, _server=server)
