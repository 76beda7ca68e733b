"""The policy as a file (docs/lifecycle.md): the whole state in versioned JSON.

``PolicyState`` is what the policy is (H, θ, baselines, version, learning
steps); ``PolicyFile`` is its exported form, validated strictly on the way in
(schema version, finite floats, θ of the context's length, every key inside
the file's own action space). Floats are written with Python's shortest
round-trip repr, so export → import gives back the same bits (−0.0 included).
Pure: pydantic, numpy and stdlib.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Annotated, Literal

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.core.action_space import ActionSpace
from shared.core.context import CONTEXT_DIM, FloatArray, Platform, TimeBucket
from shared.core.normaliser import LAYOUT, ContextNormaliser, FittedNormaliser
from shared.core.policy import Learner, PolicyParams

# 2: the active context normaliser travels with the policy (θ was learned on its x').
# A file of schema 1 has none: its θ was learned on the raw x.
# 3: the reward-model learner's arrays travel too (``learner_arrays``; empty for the gradient).
#    Its statistics are the inverse "p" (with "p_terms", "p_pending"); files that carry the
#    precision "a" instead, as the first files of schema 3 did, are read too.
SCHEMA_VERSION = 3

Finite = Annotated[float, Field(allow_inf_nan=False)]
ArrayName = Annotated[
    str, Field(pattern=r"^(a|p|p_terms|p_pending|b|theta|meta|business/[0-9a-f-]{36}/(a|b|v|weight))$")
]
Name = Annotated[str, Field(min_length=1, max_length=64)]


@dataclass(frozen=True)
class PolicyState:
    """Everything the policy is. ``preferences`` by (platform, time bucket, dimension,
    value); ``theta`` by (dimension, value), each shape (768,); ``baselines`` by
    platform: (b, rewards folded). Absent keys read as 0."""

    version: int
    steps: int
    preferences: dict[tuple[str, str, str, str], float] = field(default_factory=dict)
    theta: dict[tuple[str, str], FloatArray] = field(default_factory=dict)
    baselines: dict[str, tuple[float, int]] = field(default_factory=dict)
    normaliser: FittedNormaliser | None = None  # the active one; None: θ·x uses the raw x
    arrays: dict[str, FloatArray] = field(default_factory=dict)  # the reward-model learner's (RidgeIGW.state())


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class DimensionDoc(_Strict):
    name: Name
    values: Annotated[list[Name], Field(min_length=2)]


class ActionSpaceDoc(_Strict):
    version: Annotated[str, Field(max_length=200)]
    dimensions: Annotated[list[DimensionDoc], Field(min_length=1)]

    def pairs(self) -> set[tuple[str, str]]:
        return {(d.name, v) for d in self.dimensions for v in d.values}


class Hyperparameters(_Strict):
    """The configuration the exporting instance ran with (informational on import:
    hyperparameters are configuration, docs/lifecycle.md)."""

    tau: Finite
    epsilon: Finite
    alpha_h: Finite
    alpha_theta: Finite
    beta: Finite
    epsilon_half_life: Finite
    epsilon_min: Finite
    holdback_share: Finite
    holdback_action: dict[str, str]
    learner: Learner = "gradient"  # files before schema 3 came from the gradient


class Baseline(_Strict):
    b: Finite
    n: Annotated[int, Field(ge=0)]


class NormaliserDoc(_Strict):
    """The context normaliser θ was learned with (shared/core/normaliser.py): ``basis`` has
    k rows of ``context_dim`` floats, ``scale`` k; ``version`` is their content hash."""

    version: Annotated[str, Field(pattern=r"^n1-[0-9a-f]{12}$")]
    layout: Literal["whitened+bias+platform/1"]
    mean: list[Finite]
    basis: Annotated[list[list[Finite]], Field(min_length=1)]
    scale: list[Finite]
    platform_weight: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    fitted_at: AwareDatetime
    fitted_on: Annotated[int, Field(ge=2)]

    def normaliser(self) -> ContextNormaliser:
        """The normaliser, checked: shapes consistent and the version its numbers' hash."""
        try:
            n = ContextNormaliser(
                mean=np.asarray(self.mean, dtype=np.float64),
                basis=np.asarray(self.basis, dtype=np.float64),
                scale=np.asarray(self.scale, dtype=np.float64),
                platform_weight=self.platform_weight,
            )
        except ValueError as exc:
            raise ValueError(f"normaliser: {exc}") from exc
        if n.version != self.version:
            raise ValueError(f"normaliser: version {self.version} does not match its numbers ({n.version})")
        return n


class PolicyFile(_Strict):
    """The exported policy. ``preferences[platform][time_bucket][dimension][value]`` = H,
    ``theta[dimension][value]`` = θ (``context_dim`` floats)."""

    schema_version: Literal[1, 2, 3]
    exported_at: AwareDatetime
    version: Annotated[int, Field(ge=0)]
    steps: Annotated[int, Field(ge=0)]
    context_dim: Annotated[int, Field(ge=1)]
    action_space: ActionSpaceDoc
    hyperparameters: Hyperparameters
    baselines: dict[Platform, Baseline]
    preferences: dict[Platform, dict[TimeBucket, dict[str, dict[str, Finite]]]]
    theta: dict[str, dict[str, list[Finite]]]
    normaliser: NormaliserDoc | None = None
    # The reward-model learner's state by name, flat (shapes follow from the action space).
    learner_arrays: dict[ArrayName, list[Finite]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> PolicyFile:
        if self.learner_arrays and self.schema_version < 3:
            raise ValueError("learner_arrays: files before schema_version 3 have none")
        if self.normaliser is not None:
            if self.schema_version < 2:
                raise ValueError("normaliser: schema_version 1 files have none")
            if len(self.normaliser.mean) != self.context_dim:
                raise ValueError(
                    f"normaliser.mean: {len(self.normaliser.mean)} floats, context_dim is {self.context_dim}"
                )
            self.normaliser.normaliser()
        dims = [d.name for d in self.action_space.dimensions]
        if len(set(dims)) != len(dims):
            raise ValueError("action_space repeats a dimension")
        for d in self.action_space.dimensions:
            if len(set(d.values)) != len(d.values):
                raise ValueError(f"action_space: {d.name} repeats a value")
        known = self.action_space.pairs()
        for platform, buckets in self.preferences.items():
            for bucket, by_dim in buckets.items():
                for dim, by_value in by_dim.items():
                    for value in by_value:
                        if (dim, value) not in known:
                            raise ValueError(f"preferences.{platform}.{bucket}.{dim}.{value}: not in action_space")
        for dim, rows in self.theta.items():
            for value, vec in rows.items():
                if (dim, value) not in known:
                    raise ValueError(f"theta.{dim}.{value}: not in action_space")
                if len(vec) != self.context_dim:
                    raise ValueError(f"theta.{dim}.{value}: {len(vec)} floats, context_dim is {self.context_dim}")
        return self


def hyperparameters(params: PolicyParams) -> Hyperparameters:
    """The file's record of ``params``: every field of PolicyParams, by its own name."""
    return Hyperparameters(**(asdict(params) | {"holdback_action": dict(params.holdback_action)}))


def to_file(state: PolicyState, space: ActionSpace, params: PolicyParams, now: datetime) -> PolicyFile:
    """The exported form of ``state``, keys sorted so equal states give equal files.

    Rows outside ``space`` (values removed from the definition since they
    were learned) are not exported: the file describes the policy that runs.
    """
    known = set(space.pairs())
    prefs: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for (p, tb, d, v), h in sorted(state.preferences.items()):
        if (d, v) in known:
            prefs.setdefault(p, {}).setdefault(tb, {}).setdefault(d, {})[v] = float(h)
    theta: dict[str, dict[str, list[float]]] = {}
    for (d, v), vec in sorted(state.theta.items()):
        if (d, v) in known:
            theta.setdefault(d, {})[v] = [float(t) for t in vec]
    return PolicyFile.model_validate(
        {
            "schema_version": SCHEMA_VERSION,
            "exported_at": now,
            "version": state.version,
            "steps": state.steps,
            "context_dim": CONTEXT_DIM,
            "action_space": {
                "version": space.version,
                "dimensions": [{"name": d.name, "values": list(d.values)} for d in space.dimensions],
            },
            "hyperparameters": hyperparameters(params).model_dump(),
            "baselines": {p: {"b": b, "n": n} for p, (b, n) in sorted(state.baselines.items())},
            "preferences": prefs,
            "theta": theta,
            "normaliser": None if state.normaliser is None else _normaliser_doc(state.normaliser),
            "learner_arrays": {name: np.ravel(state.arrays[name]).tolist() for name in sorted(state.arrays)},
        }
    )


def _normaliser_doc(fitted: FittedNormaliser) -> dict[str, object]:
    n = fitted.normaliser
    return {
        "version": n.version,
        "layout": LAYOUT,
        "mean": [float(v) for v in n.mean],
        "basis": [[float(v) for v in row] for row in n.basis],
        "scale": [float(v) for v in n.scale],
        "platform_weight": float(n.platform_weight),
        "fitted_at": fitted.fitted_at,
        "fitted_on": fitted.fitted_on,
    }


def dumps(doc: PolicyFile) -> str:
    """The file's text: JSON with shortest round-trip floats, one θ row per line or so."""
    return doc.model_dump_json(indent=1) + "\n"


def loads(text: str | bytes) -> PolicyFile:
    """Parse and validate a policy file (raises pydantic.ValidationError with the field path)."""
    return PolicyFile.model_validate_json(text)


@dataclass(frozen=True)
class Compatibility:
    """How a file's action space compares with the running one."""

    missing: tuple[tuple[str, str], ...]  # (dimension, value) the running space has and the file lacks
    extra: tuple[tuple[str, str], ...]  # in the file, not in the running space (dropped on a forced import)

    @property
    def matches(self) -> bool:
        return not self.missing and not self.extra


def compatibility(doc: PolicyFile, space: ActionSpace) -> Compatibility:
    ours = set(space.pairs())
    theirs = doc.action_space.pairs()
    return Compatibility(missing=tuple(sorted(ours - theirs)), extra=tuple(sorted(theirs - ours)))


def state_from_file(doc: PolicyFile, space: ActionSpace) -> PolicyState:
    """The state a file holds, restricted to ``space`` (rows of other values are dropped;
    values the file lacks start at 0). The caller decides whether a mismatch is allowed.
    The learner's arrays are laid out by the file's action space: they come only when it
    matches ``space`` (else that learner starts afresh); their shapes are checked on use."""
    if doc.context_dim != CONTEXT_DIM:
        raise ValueError(f"context_dim {doc.context_dim} cannot be imported: the context has {CONTEXT_DIM}")
    known = set(space.pairs())
    prefs: dict[tuple[str, str, str, str], float] = {
        (p, tb, d, v): h
        for p, buckets in doc.preferences.items()
        for tb, by_dim in buckets.items()
        for d, by_value in by_dim.items()
        for v, h in by_value.items()
        if (d, v) in known
    }
    theta = {
        (d, v): np.asarray(vec, dtype=np.float64)
        for d, by_value in doc.theta.items()
        for v, vec in by_value.items()
        if (d, v) in known
    }
    baselines: dict[str, tuple[float, int]] = {p: (bl.b, bl.n) for p, bl in doc.baselines.items()}
    normaliser = (
        None
        if doc.normaliser is None
        else FittedNormaliser(doc.normaliser.normaliser(), doc.normaliser.fitted_at, doc.normaliser.fitted_on)
    )
    arrays = (
        {name: np.asarray(data, dtype=np.float64) for name, data in doc.learner_arrays.items()}
        if compatibility(doc, space).matches
        else {}
    )
    return PolicyState(
        version=doc.version,
        steps=doc.steps,
        preferences=prefs,
        theta=theta,
        baselines=baselines,
        normaliser=normaliser,
        arrays=arrays,
    )
