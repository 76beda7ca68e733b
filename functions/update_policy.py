"""HTTP function ``update_policy``: apply one post's reward to the policy, once."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._entry import handle
from shared.api import UpdatePolicyRequest
from shared.auth import Caller
from shared.bootstrap import Runtime
from shared.services.learning import apply_update, describe


def _call(req: UpdatePolicyRequest, rt: Runtime, caller: Caller) -> tuple[int, dict[str, Any]]:
    out = apply_update(
        rt.db,
        req.post_id,
        rt.clock.now(),
        rt.params,
        snapshot_every=rt.settings.policy_snapshot_every,
        space=rt.space,
    )
    return 200, {
        "post_id": out.post_id,
        "applied": out.applied,
        "version": out.version,
        "advantage": out.advantage,
        "reason": out.reason,
        "message": describe(out),
    }


@functions_framework.http
def update_policy(request: flask.Request) -> flask.Response:
    return handle(request, "update_policy", UpdatePolicyRequest.model_validate_json, _call, allowed=("service",))
