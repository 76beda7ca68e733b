"""What every entry point shares: body limits, parsing, error mapping, logging."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import flask
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from shared.auth import Caller, CallerKind
from shared.bootstrap import Runtime, get_runtime
from shared.core.delivery import task_delivery
from shared.errors import AppError, RateLimited, TransientError
from shared.logs import log
from shared.services.dead_letters import record_dead_letter

T = TypeVar("T")
RETRY_AFTER_SECONDS = 5


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def respond(status: int, body: Any, headers: dict[str, str] | None = None) -> flask.Response:
    return flask.Response(json.dumps(_jsonable(body)), status=status, mimetype="application/json", headers=headers)


def _field_path(error: ErrorDetails, tagged: bool) -> str:
    """The path of the wrong field in the body, e.g. ``topic_embedding.3``.

    A tagged union (record_snapshot's events) puts the tag first in pydantic's
    location; the body has no such key, so it is dropped, and a missing or
    unknown tag is reported as the discriminator field itself.
    """
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return str(error.get("ctx", {}).get("discriminator", "type")).strip("'")
    loc = error["loc"][1:] if tagged else error["loc"]
    return ".".join(str(p) for p in loc) or "body"


def error_response(exc: AppError) -> flask.Response:
    fields = [{"path": exc.field, "message": exc.message}] if exc.field else []
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return respond(exc.status, {"error": {"code": exc.code, "message": exc.message, "fields": fields}}, headers)


def handle(
    request: flask.Request,
    name: str,
    parse: Callable[[bytes], T],
    call: Callable[[T, Runtime, Caller], tuple[int, Any]],
    *,
    allowed: tuple[CallerKind, ...],
    tagged: bool = False,
) -> flask.Response:
    """Authenticate, parse the raw body strictly, run ``call``, map errors to HTTP answers.

    401/403 before the body is read; 4xx: the request can never succeed as
    sent (with the field that is wrong); 503 + Retry-After: try again later.
    Internal details never reach the caller. A Cloud Task rejected at its
    last attempt leaves a dead letter.
    """
    if request.method != "POST":
        return respond(405, {"error": {"code": "method_not_allowed", "message": "use POST"}}, {"Allow": "POST"})
    runtime = get_runtime()
    try:
        caller = runtime.auth.authenticate(request.headers.get, allowed)
    except AppError as exc:
        log("WARNING", "unauthenticated", function=name, code=exc.code, reason=exc.message)
        return error_response(exc)
    raw, response = _serve(request, name, parse, call, runtime, caller, tagged)
    if response.status_code >= 400 and caller.kind in ("service", "local"):
        delivery = task_delivery(request.headers.get)
        if delivery is not None and delivery.is_final(runtime.settings.tasks_max_attempts):
            answer = response.get_json(silent=True) or {}
            error = answer.get("error", {}) if isinstance(answer, dict) else {}
            record_dead_letter(
                runtime.db, name, delivery, status=response.status_code, error=error, body=raw, now=runtime.clock.now()
            )
    return response


def _serve(
    request: flask.Request,
    name: str,
    parse: Callable[[bytes], T],
    call: Callable[[T, Runtime, Caller], tuple[int, Any]],
    runtime: Runtime,
    caller: Caller,
    tagged: bool,
) -> tuple[bytes, flask.Response]:
    """(the body as read, the answer): the size limit before parsing, then parse, then the use case."""
    limit = runtime.settings.max_body_bytes
    too_large = respond(413, {"error": {"code": "too_large", "message": f"body over {limit} bytes"}})
    if request.content_length is not None and request.content_length > limit:
        return b"", too_large
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        return raw[:limit], too_large
    try:
        body = parse(raw)
    except ValidationError as exc:
        fields = [{"path": _field_path(e, tagged), "message": e["msg"]} for e in exc.errors()]
        log("WARNING", "invalid request", function=name, fields=[f["path"] for f in fields])
        return raw, respond(400, {"error": {"code": "invalid_request", "message": "invalid body", "fields": fields}})
    try:
        status, result = call(body, runtime, caller)
    except TransientError as exc:
        log("WARNING", "transient failure", function=name, error=exc.message)
        answer = {"error": {"code": exc.code, "message": "try again later"}}
        return raw, respond(503, answer, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    except AppError as exc:
        log("INFO", "rejected", function=name, code=exc.code, field=exc.field)
        return raw, error_response(exc)
    return raw, respond(status, result)
