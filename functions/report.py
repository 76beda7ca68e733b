"""HTTP function ``report``: the dashboard page (GET), rendered from the database on each call.

Authentication of callers is the auth issue's work (SPEC §7), as for the
other functions; deploy it behind IAM (no public invoker) until then.
"""

from __future__ import annotations

import flask
import functions_framework

from functions._entry import respond
from shared.bootstrap import get_runtime
from shared.dashboard.page import CSP
from shared.errors import TransientError
from shared.logs import log
from shared.services.dashboard import dashboard_html


@functions_framework.http
def report(request: flask.Request) -> flask.Response:
    if request.method not in ("GET", "HEAD"):
        return respond(405, {"error": {"code": "method_not_allowed", "message": "use GET"}}, {"Allow": "GET"})
    rt = get_runtime()
    try:
        page = dashboard_html(rt.db, rt.space, rt.params, rt.clock.now())
    except TransientError as exc:
        log("WARNING", "transient failure", function="report", error=exc.message)
        return respond(503, {"error": {"code": exc.code, "message": "try again later"}}, {"Retry-After": "5"})
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return flask.Response(page, status=200, mimetype="text/html", headers=headers)
