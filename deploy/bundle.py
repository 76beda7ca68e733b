"""``make bundle``: the deployable source archive of the five functions.

It holds main.py, functions/, shared/ and requirements.txt, which is all
Cloud Run functions need to build them; nothing of the simulation, tests or
local tooling. Its requirements.txt is requirements.lock (``make lock``): every
package pinned with its hashes, so the build installs in hash-checking mode.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from shared.config import PROJECT_ROOT

INCLUDE = ("main.py", "functions", "shared")
# The archive's requirements.txt: the lock, not the short list of direct pins.
REQUIREMENTS = PROJECT_ROOT / "requirements.lock"


def build(out: Path) -> list[str]:
    """Write the archive; returns the names it holds."""
    names: list[str] = []
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for item in INCLUDE:
            path = PROJECT_ROOT / item
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for f in files:
                if "__pycache__" in f.parts or f.suffix == ".pyc":
                    continue
                name = f.relative_to(PROJECT_ROOT).as_posix()
                # A fixed timestamp: the same tree gives the same archive (and the same hash).
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, f.read_bytes())
                names.append(name)
        info = zipfile.ZipInfo("requirements.txt", date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, REQUIREMENTS.read_bytes())
        names.append("requirements.txt")
    return names


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "dist" / "functions-source.zip"
    print(f"{target}: {len(build(target))} files")
