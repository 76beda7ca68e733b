"""The repository stands alone: every "docs/spec.md §n" it cites is a section of
docs/spec.md, and nothing cites a document that lives outside it."""

from __future__ import annotations

import re
import subprocess

from shared.config import PROJECT_ROOT

SPEC = PROJECT_ROOT / "docs" / "spec.md"


def _tracked_text() -> dict[str, str]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    out = {}
    for name in names:
        if name.endswith((".py", ".md", ".sql", ".tf", ".toml", ".html", ".yaml")) or name in ("Makefile", ".ci/run"):
            out[name] = (PROJECT_ROOT / name).read_text(encoding="utf-8")
    return out


def test_every_cited_section_of_the_spec_exists():
    sections = {int(n) for n in re.findall(r"^## (\d+)\. ", SPEC.read_text(encoding="utf-8"), flags=re.M)}
    assert sections == set(range(1, 10))
    cited = {
        (name, int(n)) for name, text in _tracked_text().items() for n in re.findall(r"docs/spec\.md §(\d+)", text)
    }
    assert cited, "the code cites the spec"
    assert {(name, n) for name, n in cited if n not in sections} == set()


def test_nothing_cites_the_documents_outside_the_repository():
    # Spelled in pieces, so that this file does not match itself.
    names = ["SPEC" + " §", r"\.\./" + "shared", "STACK" + r"\.md", "STYLE" + r"\.md", "seed/" + "SYSTEM_FLOW"]
    outside = re.compile("|".join(names))
    assert {name for name, text in _tracked_text().items() if outside.search(text)} == set()
