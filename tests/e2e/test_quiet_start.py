"""Nothing the user cannot act on is printed when the embedded server's module loads."""

from __future__ import annotations

import os
import subprocess
import sys

from shared.config import PROJECT_ROOT


def _stderr_of(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_loading_the_embedded_server_prints_no_runtime_dir_warning():
    # The control: without the filter, the import warns (so the check below can fail).
    assert "XDG_RUNTIME_DIR is not set" in _stderr_of("import pgserver")
    assert _stderr_of("from shared.store.embedded import server_module; server_module()") == ""
