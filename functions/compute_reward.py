"""HTTP function ``compute_reward``: one post (Cloud Task) or a sweep (Scheduler)."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._entry import handle
from shared.api import ComputeRewardRequest
from shared.auth import Caller
from shared.bootstrap import Runtime
from shared.services.rewards import compute_one, sweep


def _call(req: ComputeRewardRequest, rt: Runtime, caller: Caller) -> tuple[int, dict[str, Any]]:
    now = rt.clock.now()
    beta = rt.params.beta
    if req.post_id is not None:
        s = compute_one(rt.db, req.post_id, now, rt.reward_config, beta)
        rt.tasks.dispatch(s.tasks)
        return 200, {"post_id": s.post_id, "outcome": s.outcome, "value": s.value}
    report = sweep(rt.db, now, rt.reward_config, beta, limit=req.limit)
    rt.tasks.dispatch(report.tasks)
    return 200, {
        "examined": report.examined,
        "computed": report.computed,
        "missing": report.missing,
        "waiting": report.waiting,
    }


@functions_framework.http
def compute_reward(request: flask.Request) -> flask.Response:
    return handle(request, "compute_reward", ComputeRewardRequest.model_validate_json, _call, allowed=("service",))
