"""HTTP function ``report``: the dashboard page (GET), rendered from the database on each call.

A business owner (a Supabase user's token) sees their own businesses; an operator (a
Google OIDC identity among the allowed accounts, or a local run with auth disabled) sees
every business. ``?business=<id>`` shows one business (docs/dashboard.md).
"""

from __future__ import annotations

from uuid import UUID

import flask
import functions_framework

from functions._entry import error_response, respond
from shared.auth import Caller, Forbidden
from shared.bootstrap import get_runtime
from shared.errors import AppError, PermanentError, TransientError
from shared.logs import log
from shared.presentation.page import CSP
from shared.services.dashboard import dashboard_html


@functions_framework.http
def report(request: flask.Request) -> flask.Response:
    if request.method not in ("GET", "HEAD"):
        return respond(405, {"error": {"code": "method_not_allowed", "message": "use GET"}}, {"Allow": "GET"})
    rt = get_runtime()
    try:
        caller = rt.auth.authenticate(request.headers.get, ("service", "user"))
        owner = _owner(caller)
    except AppError as exc:
        log("WARNING", "unauthenticated", function="report", code=exc.code, reason=exc.message)
        return respond(exc.status, {"error": {"code": exc.code, "message": exc.message}})
    try:
        business = _business(request.args.get("business"))
        page = dashboard_html(rt.db, rt.space, rt.params, rt.clock.now(), owner=owner, business=business)
    except TransientError as exc:
        log("WARNING", "transient failure", function="report", error=exc.message)
        return respond(503, {"error": {"code": exc.code, "message": "try again later"}}, {"Retry-After": "5"})
    except AppError as exc:
        return error_response(exc)
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return flask.Response(page, status=200, mimetype="text/html", headers=headers)


def _business(value: str | None) -> UUID | None:
    """The ``business`` query parameter: one business's page (absent or empty: every one in scope)."""
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise PermanentError("business must be a business id (a UUID)", field="business") from None


def _owner(caller: Caller) -> UUID | None:
    """The user whose businesses the page shows; None for an operator (every business)."""
    if caller.kind != "user":
        return None
    try:
        return UUID(caller.subject)
    except ValueError:  # Supabase's subjects are user ids; anything else owns nothing here
        raise Forbidden("the token's subject is not a user id", field="Authorization") from None
