"""requirements.lock (make lock) is current, hashed, what the tests ran with, and what the bundle ships."""

from __future__ import annotations

import re
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from deploy.bundle import build
from devtools.lock import with_plain_pins
from shared.config import PROJECT_ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(text: str) -> dict[str, str]:
    return {_canonical(m[1]): m[2] for line in text.splitlines() if (m := PIN.match(line))}


def _lock() -> str:
    return (PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8")


def test_every_direct_pin_is_in_the_lock_at_its_version():
    direct = _pins((PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8"))
    locked = _pins(_lock())
    assert direct, "requirements.txt pins nothing?"
    stale = {n: (v, locked.get(n)) for n, v in direct.items() if locked.get(n) != v}
    assert stale == {}, "requirements.txt changed since the lock was written: run `make lock`"


def test_every_locked_package_has_a_hash_and_no_line_names_a_host():
    blocks = re.split(r"\n(?=[A-Za-z0-9])", _lock().split("\n", 2)[2])  # after the two header lines
    pins = [line for line in _lock().splitlines() if PIN.match(line)]
    assert len(blocks) == len(pins) > 20
    for block in blocks:
        assert "--hash=sha256:" in block, block.splitlines()[0]
    assert "://" not in _lock()


def test_the_locked_versions_are_the_ones_the_tests_run_with():
    differ = {}
    for name, pinned in _pins(_lock()).items():
        try:
            found = version(name)
        except PackageNotFoundError:
            found = None
        if found != pinned:
            differ[name] = (pinned, found)
    assert differ == {}, "the venv and the lock disagree: reinstall (make) or run `make lock`"


def test_the_bundle_ships_the_lock_as_its_requirements(tmp_path: Path):
    archive = tmp_path / "bundle.zip"
    names = build(archive)
    assert names.count("requirements.txt") == 1
    with zipfile.ZipFile(archive) as zf:
        assert zf.read("requirements.txt").decode("utf-8") == _lock()


def test_a_pin_with_extras_is_also_pinned_without_them():
    # pip 23.2 in hash-checking mode took google-auth[requests] and google-auth for two
    # requirements: the unpinned one went to a newer release, unhashed, and the install failed.
    lines = [m for line in _lock().splitlines() if (m := PIN.match(line))]
    with_extras = {(_canonical(m[1]), m[2]) for m in lines if "[" in m[0]}
    plain = {(_canonical(m[1]), m[2]) for m in lines if "[" not in m[0]}
    assert with_extras and with_extras <= plain
    assert with_plain_pins("a[x]==1 \\\n    --hash=sha256:00\nb==2 \\\n    --hash=sha256:11\n") == (
        "a[x]==1 \\\n    --hash=sha256:00\na==1 \\\n    --hash=sha256:00\nb==2 \\\n    --hash=sha256:11\n"
    )
