"""HTTP function ``read_business``: a business's posts (with decisions, snapshots, rewards),
when to post, or what the policy would choose for it now, for integrators (docs/read-api.md).
A read: it changes nothing."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import flask
import functions_framework

from functions._entry import handle
from shared.api import ReadBusinessRequest
from shared.auth import Caller
from shared.bootstrap import Runtime
from shared.core.best_time import SlotEstimate
from shared.services.access import check_business
from shared.services.best_time import best_times
from shared.services.reading import BusinessPreferences, business_posts, business_preferences
from shared.store.listings import PostListing


def _post(p: PostListing) -> dict[str, Any]:
    out = asdict(p)
    status, value, computed_at = out.pop("reward_status"), out.pop("reward_value"), out.pop("reward_computed_at")
    out["reward"] = None if status is None else {"status": status, "value": value, "computed_at": computed_at}
    return out


def _slot(s: SlotEstimate) -> dict[str, Any]:
    return asdict(s)


def _preferences(found: BusinessPreferences) -> dict[str, Any]:
    cells = [
        {
            "platform": c.platform,
            "time_bucket": c.time_bucket,
            "dimensions": [
                {
                    "dimension": d.name,
                    "most_likely": next(b.value for b in d.bars if b.top),
                    "values": [{"value": b.value, "label": b.label, "probability": b.probability} for b in d.bars],
                }
                for d in c.dimensions
            ],
        }
        for c in found.cells
    ]
    works = [
        {
            "platform": w.platform,
            "dimension": w.dimension_name,
            "value": w.value_name,
            "label": w.value,
            "posts": w.posts,
            "platform_posts": w.platform_posts,
            "lift": w.lift,
            "low": w.low,
            "high": w.high,
            "sure": w.sure,
        }
        for w in found.what_works
    ]
    return {
        "policy_version": found.policy_version,
        "context": found.context,
        "context_posts": found.context_posts,
        "cells": cells,
        "what_works": works,
    }


def _call(req: ReadBusinessRequest, rt: Runtime, caller: Caller) -> tuple[int, dict[str, Any]]:
    check_business(rt.db, caller, req.business_id)
    if req.view == "posts":
        page = business_posts(rt.db, req.business_id, req.limit, req.cursor, req.platform)
        posts = [_post(p) for p in page.posts]
        return 200, {"business_id": req.business_id, "view": "posts", "posts": posts, "next_cursor": page.next_cursor}
    if req.view == "preferences":
        found_prefs = business_preferences(rt.db, rt.space, rt.params, req.business_id, req.platform)
        return 200, {"business_id": req.business_id, "view": "preferences", "preferences": _preferences(found_prefs)}
    assert req.platform is not None  # the request model asks for it with best_times
    found = best_times(rt.db, req.business_id, req.platform, rt.clock.now())
    return 200, {
        "business_id": req.business_id,
        "view": "best_times",
        "best_times": {
            "platform": found.platform,
            "time_zone": found.time_zone,
            "slots": [_slot(s) for s in found.slots],
            "best": _slot(found.best),
            "next_time": found.next_time,
        },
    }


@functions_framework.http
def read_business(request: flask.Request) -> flask.Response:
    return handle(request, "read_business", ReadBusinessRequest.model_validate_json, _call, allowed=("user", "service"))
