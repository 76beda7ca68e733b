"""The import contract of the layers (``make lint``; docs/architecture.md, "Layers").

    entry points   functions/, main.py, cli/ (the command line), simulation/, devtools/,
                   benchmarks/, deploy/: may import anything below
    services       shared/services: load → call the core → store; no entry point
    store          shared/store: SQL only; no service, no adapter, no entry point
    adapters       shared/llm, shared/tasks, shared/image_store, shared/minilm, shared/auth, ...
    pure core      shared/core and shared/presentation: the standard library, numpy and each other

Names: an HTTP function's name (generate_post, record_snapshot, compute_reward, update_policy,
report) belongs to its entry point; no module under shared/, cli/ or simulation/ defines a
top-level function of that name (the service is create_post, the pure reward
reward_from_snapshots).

Each rule names a package and what its modules may not import (or, for the pure layers,
the only things they may import). ``python -m devtools.layers`` prints every breach and
exits 1 when there is one.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = ("functions", "main", "cli", "simulation", "devtools", "benchmarks", "deploy", "tests")
PURE = ("shared.core", "shared.presentation")
THIRD_PARTY_PURE = ("numpy",)


@dataclass(frozen=True)
class Rule:
    package: str
    forbidden: tuple[str, ...] = ()  # module prefixes it may not import
    only: tuple[str, ...] | None = None  # when set: the only prefixes it may import, besides the standard library


RULES = (
    Rule("shared.core", only=("shared.core", *THIRD_PARTY_PURE)),
    Rule("shared.presentation", only=(*PURE, *THIRD_PARTY_PURE)),
    Rule(
        "shared.store",
        forbidden=(
            *ENTRY_POINTS,
            "shared.services",
            "shared.bootstrap",
            "shared.config",
            "shared.llm",
            "shared.tasks",
            "shared.image_store",
            "shared.minilm",
            "shared.content_writer",
            "shared.auth",
        ),
    ),
    Rule("shared.services", forbidden=(*ENTRY_POINTS, "shared.bootstrap")),
    Rule("shared.llm", forbidden=(*ENTRY_POINTS, "shared.services", "shared.store", "shared.bootstrap")),
    Rule("shared.tasks", forbidden=(*ENTRY_POINTS, "shared.services", "shared.bootstrap")),
)


@dataclass(frozen=True)
class Breach:
    module: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str) -> Iterator[tuple[str, int]]:
    """Every module ``source`` imports, absolute, with its line (relative imports resolved)."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base in ("shared", *(f"shared.{p}" for p in ("store", "services", "tasks", "llm", "core"))) and (
                node.module is None or base.count(".") <= 1
            ):
                # "from shared import store", "from shared.store import posts": the names are modules.
                for alias in node.names:
                    yield f"{base}.{alias.name}", node.lineno
            else:
                yield base, node.lineno


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def breaches(source: str, module: str) -> list[Breach]:
    """What ``source`` (the text of ``module``) imports against the rule of its package."""
    rule = next((r for r in RULES if _under(module, r.package)), None)
    if rule is None:
        return []
    out = []
    for name, line in imports(source, module):
        if name == "shared":
            continue  # "from shared import x" is judged by shared.x
        if rule.only is not None:
            stdlib = name.split(".")[0] in sys.stdlib_module_names or name == "__future__"
            if not stdlib and not any(_under(name, p) for p in rule.only):
                out.append(Breach(module, name, line))
        elif any(_under(name, p) for p in rule.forbidden):
            out.append(Breach(module, name, line))
    return out


def check(root: Path = ROOT) -> list[Breach]:
    found = []
    for path in sorted((root / "shared").rglob("*.py")):
        found += breaches(path.read_text(encoding="utf-8"), module_name(path, root))
    return found


def http_functions(root: Path = ROOT) -> frozenset[str]:
    return frozenset(p.stem for p in (root / "functions").glob("*.py") if not p.stem.startswith("_"))


def name_clashes(source: str, module: str, reserved: frozenset[str]) -> list[str]:
    """Top-level functions of ``module`` named like an HTTP function (docs/architecture.md, "Names")."""
    return [
        f"{module}:{node.lineno} defines {node.name}, the name of an HTTP function"
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in reserved
    ]


def check_names(root: Path = ROOT) -> list[str]:
    reserved = http_functions(root)
    found = []
    for top in ("shared", "cli", "simulation"):
        for path in sorted((root / top).rglob("*.py")):
            found += name_clashes(path.read_text(encoding="utf-8"), module_name(path, root), reserved)
    return found


def main() -> None:
    found = [str(b) for b in check()] + check_names()
    for b in found:
        print(b)
    if found:
        print(f"{len(found)} breach(es) of the layers or the names (devtools/layers.py)", file=sys.stderr)
        sys.exit(1)
    print("layers: every import keeps to its layer; no module redefines an HTTP function's name")


if __name__ == "__main__":
    main()
