"""HTTP function ``save_profile``: create or update a business profile (docs/profiles.md)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import flask
import functions_framework

from functions._entry import handle
from shared.api import ProfileRequest
from shared.auth import Caller, Forbidden
from shared.bootstrap import Runtime
from shared.services.profiles import create_or_update_profile


def _user(caller: Caller, req: ProfileRequest) -> UUID | None:
    """The signed-in user saving (None: a service); a user saves only what they own."""
    if caller.kind != "user":
        return None
    try:
        user = UUID(caller.subject)
    except ValueError:
        raise Forbidden("this account cannot own a business", field="owner_id") from None
    if req.owner_id is not None and req.owner_id != user:
        raise Forbidden("a user saves businesses they own: leave owner_id out", field="owner_id")
    return user


def _call(req: ProfileRequest, rt: Runtime, caller: Caller) -> tuple[int, dict[str, Any]]:
    user = _user(caller, req)
    owner = user if user is not None else req.owner_id
    out = create_or_update_profile(rt.db, req.to_profile(owner), rt.embedders, user=user)
    p = out.profile
    verb = "created" if out.created else "updated"
    text = "; its text was embedded" if out.embedded else ""
    return (201 if out.created else 200), {
        "business_id": p.business_id,
        "name": p.name,
        "owner_id": p.owner_id,
        "time_zone": p.time_zone,
        "require_approval": p.require_approval,
        "created": out.created,
        "embedded": out.embedded,
        "message": f"{verb} the profile of {p.name}{text}",
    }


@functions_framework.http
def save_profile(request: flask.Request) -> flask.Response:
    return handle(request, "save_profile", ProfileRequest.model_validate_json, _call, allowed=("user", "service"))
