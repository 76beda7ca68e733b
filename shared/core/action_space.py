"""The action space: creative dimensions and their values, loaded from data.

The default lives in ``action_space.json`` beside this module. A larger space
(more hooks, tones, a composition dimension) is a different file, never a code
change or a migration: policy rows for a new value simply do not exist yet,
which the policy reads as preference 0 and θ = 0.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_DIMENSION = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


@dataclass(frozen=True)
class Dimension:
    """One creative dimension: ``values`` are snake_case ids, ``labels`` go into prompts."""

    name: str
    values: tuple[str, ...]
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        if not _DIMENSION.match(self.name):
            raise ValueError(f"dimension name {self.name!r} must be UPPER_SNAKE_CASE")
        if len(self.values) < 2:
            raise ValueError(f"dimension {self.name} needs at least two values")
        if len(set(self.values)) != len(self.values):
            raise ValueError(f"dimension {self.name} repeats a value")
        if len(self.labels) != len(self.values):
            raise ValueError(f"dimension {self.name}: one label per value")
        for value in self.values:
            if not _IDENTIFIER.match(value):
                raise ValueError(f"value {value!r} of {self.name} must be snake_case")

    def index(self, value: str) -> int:
        return self.values.index(value)

    def label(self, value: str) -> str:
        return self.labels[self.values.index(value)]


@dataclass(frozen=True)
class ActionSpace:
    """An ordered tuple of dimensions; the order fixes the sampling order."""

    version: str
    dimensions: tuple[Dimension, ...]

    def __post_init__(self) -> None:
        names = [d.name for d in self.dimensions]
        if not names:
            raise ValueError("the action space needs at least one dimension")
        if len(set(names)) != len(names):
            raise ValueError("the action space repeats a dimension")

    @property
    def size(self) -> int:
        """Number of joint actions (product of the dimension sizes)."""
        n = 1
        for d in self.dimensions:
            n *= len(d.values)
        return n

    def dimension(self, name: str) -> Dimension:
        for d in self.dimensions:
            if d.name == name:
                return d
        raise KeyError(name)

    def pairs(self) -> list[tuple[str, str]]:
        """Every (dimension, value) pair, in definition order."""
        return [(d.name, v) for d in self.dimensions for v in d.values]

    def validate_action(self, action: dict[str, str]) -> None:
        if set(action) != {d.name for d in self.dimensions}:
            raise ValueError("an action names exactly one value per dimension")
        for d in self.dimensions:
            if action[d.name] not in d.values:
                raise ValueError(f"{action[d.name]!r} is not a value of {d.name}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActionSpace:
        dims = []
        for raw in data["dimensions"]:
            values = raw["values"]
            ids = tuple(str(v["id"]) if isinstance(v, dict) else str(v) for v in values)
            labels = tuple(str(v.get("label", v["id"])) if isinstance(v, dict) else str(v) for v in values)
            dims.append(Dimension(name=raw["name"], values=ids, labels=labels))
        return cls(version=str(data.get("version", "custom")), dimensions=tuple(dims))

    @classmethod
    def load(cls, path: Path | None = None) -> ActionSpace:
        """Load ``path``, or the packaged default when ``path`` is None."""
        if path is None:
            text = resources.files("shared").joinpath("action_space.json").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        return cls.from_dict(json.loads(text))
