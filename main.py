"""The Cloud Functions source root: every entry point, by name.

Every function is deployed from this one source, and an instance serves one of them
(its target). The targets are imported on first access (PEP 562), so an instance loads
only its own function's modules: update_policy's cold start does not pay for the
dashboard's, the generator's or the auth keys' code (docs/performance.md, section 5).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functions.compute_reward import compute_reward
    from functions.generate_post import generate_post
    from functions.read_business import read_business
    from functions.record_snapshot import record_snapshot
    from functions.report import report
    from functions.review_post import review_post
    from functions.save_profile import save_profile
    from functions.update_policy import update_policy

__all__ = [
    "compute_reward",
    "generate_post",
    "read_business",
    "record_snapshot",
    "report",
    "review_post",
    "save_profile",
    "update_policy",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'main' has no attribute {name!r}")
    function = getattr(import_module(f"functions.{name}"), name)
    globals()[name] = function
    return function
