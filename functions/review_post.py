"""HTTP function ``review_post``: a person approves, rejects or edits a draft (docs/review.md)."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._entry import handle
from shared.api import ReviewPostRequest
from shared.auth import Caller
from shared.bootstrap import Runtime
from shared.services.access import check_post
from shared.services.review import apply_review


def _call(req: ReviewPostRequest, rt: Runtime, caller: Caller) -> tuple[int, dict[str, Any]]:
    check_post(rt.db, caller, req.post_id)
    out = apply_review(rt.db, req.post_id, req.action, req.caption, rt.clock.now())
    return 200, {
        "post_id": out.post_id,
        "review": out.review,
        "caption": out.caption,
        "edited_caption": out.edited_caption,
        "changed": out.changed,
        "message": out.message,
    }


@functions_framework.http
def review_post(request: flask.Request) -> flask.Response:
    return handle(request, "review_post", ReviewPostRequest.model_validate_json, _call, allowed=("user", "service"))
