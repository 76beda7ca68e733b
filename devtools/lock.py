"""``make lock``: requirements.lock, the function bundle's requirements with hashes.

requirements.txt pins what the functions import; the lock pins everything they
install (the whole closure) to the versions installed in the development venv,
the ones the tests ran with, each with the sha256 hashes of its distributions
from the package index. ``make bundle`` ships the lock as the bundle's
requirements.txt, so pip installs it in hash-checking mode: a changed or
swapped file is refused. tests/unit/test_lock.py checks it stays current.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from shared.config import PROJECT_ROOT

LOCK = PROJECT_ROOT / "requirements.lock"
HEADER = (
    "# The function bundle's requirements with hashes: written by `make lock` from requirements.txt,\n"
    "# at the versions installed in .venv (the ones the tests ran with). Do not edit; rerun `make lock`.\n"
)


def _name(line: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=<>!~; ]", line.strip(), maxsplit=1)[0]).lower()


def installed(direct: Path) -> str:
    """``pip freeze`` of this interpreter as constraints, without editable or local-path lines
    and without the packages ``direct`` pins itself (a pin just changed there wins)."""
    pinned = {_name(line) for line in direct.read_text(encoding="utf-8").splitlines() if "==" in line}
    out = subprocess.run(
        [sys.executable, "-m", "pip", "freeze"], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    keep = [line for line in out if line and not line.startswith("-e") and " @ " not in line]
    return "\n".join(line for line in keep if _name(line) not in pinned) + "\n"


def write_lock(out: Path = LOCK) -> None:
    with tempfile.TemporaryDirectory(prefix="lock-") as tmp:
        work = Path(tmp)
        direct = PROJECT_ROOT / "requirements.txt"
        (work / "installed.txt").write_text(installed(direct), encoding="utf-8")
        (work / "runtime.in").write_text(f"-r {direct}\n-c installed.txt\n", encoding="utf-8")
        subprocess.run(
            [
                str(Path(sys.executable).parent / "pip-compile"),
                "--quiet",
                "--generate-hashes",
                "--allow-unsafe",
                "--no-strip-extras",  # with_plain_pins needs them
                "--no-emit-index-url",
                "--no-emit-find-links",
                "--no-header",
                "--no-annotate",
                "--output-file",
                str(work / "runtime.lock"),
                str(work / "runtime.in"),
            ],
            check=True,
            cwd=work,
        )
        locked = with_plain_pins((work / "runtime.lock").read_text(encoding="utf-8"))
        out.write_text(HEADER + locked, encoding="utf-8")


def with_plain_pins(lock: str) -> str:
    """Each pin with extras (``google-auth[requests]==2.63.0``) followed by the same pin without
    them. In hash-checking mode pip (23.2, what a fresh venv has) treats the two spellings as
    different requirements: with only one of them pinned, the other resolved to the newest
    release on the index, unhashed, and the install was refused the day one came out."""
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.rstrip("\n"))
    out = []
    for block in blocks:
        out.append(block)
        extras = re.match(r"([A-Za-z0-9_.\-]+)\[[^\]]*\](==.*)", block, re.S)
        if extras:
            out.append(extras[1] + extras[2])
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    write_lock()
    print(f"written {LOCK}")
