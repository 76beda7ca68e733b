"""HTTP function ``generate_post``: choose, write prompts, log the decision."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework
import numpy as np

from functions._entry import handle
from shared.api import GeneratePostRequest
from shared.auth import Caller
from shared.bootstrap import Runtime
from shared.core.policy import explain
from shared.services.access import check_business
from shared.services.generation import GenerateCommand, GeneratedPost, create_post


def _view(g: GeneratedPost) -> dict[str, Any]:
    d, p = g.decision, g.post
    return {
        "post_id": g.post_id,
        "decision_id": d.decision_id,
        "created": g.created,
        "status": p.status,
        "platform": p.platform,
        "scheduled_for": p.scheduled_for,
        "scheduled_by": p.scheduled_by,
        "time_bucket": d.time_bucket,
        "day_of_week": d.day_of_week,
        "action": d.action,
        "probabilities": {c.dimension: dict(zip(c.values, c.pi, strict=True)) for c in d.choices},
        "propensities": {c.dimension: c.propensity for c in d.choices},
        "joint_propensity": d.joint_propensity,
        "policy_version": d.policy_version,
        "context_fallback": d.context_fallback,
        "seed": d.seed,
        "learner": d.learner,
        "tau": d.tau,
        "epsilon": d.epsilon,
        "holdback": d.holdback,
        "explanation": explain(d.choices),
        "mode": p.mode,
        "caption_prompt": p.caption_prompt,
        "image_prompt": p.image_prompt,
        "caption": p.caption,
        "generator_prompt": p.generator_prompt,
        "content_status": p.content_status,
        "content_source": p.content_source,
        "image_url": p.image_url,
    }


def _call(req: GeneratePostRequest, rt: Runtime, caller: Caller) -> tuple[int, dict[str, Any]]:
    check_business(rt.db, caller, req.business_id)
    cmd = GenerateCommand(
        business_id=req.business_id,
        request_id=req.request_id,
        platform=req.platform,
        topic=req.topic,
        topic_embedding=None if req.topic_embedding is None else np.asarray(req.topic_embedding),
        scheduled_for=req.scheduled_for,
        auto_publish=req.auto_publish,
    )
    result = create_post(
        rt.db,
        cmd,
        space=rt.space,
        params=rt.params,
        reward_config=rt.reward_config,
        embedder=rt.embedders,
        now=rt.clock.now(),
        content=rt.content,
        limits=rt.limits,
    )
    rt.tasks.dispatch(result.tasks, rt.clock.now())
    return (201 if result.created else 200), _view(result)


@functions_framework.http
def generate_post(request: flask.Request) -> flask.Response:
    return handle(request, "generate_post", GeneratePostRequest.model_validate_json, _call, allowed=("user", "service"))
