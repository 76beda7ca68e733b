"""HTTP function ``compute_reward``: one post (Cloud Task) or a sweep (Cloud Scheduler)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import flask
import functions_framework

from functions._entry import handle
from shared.api import EARLIEST, LATEST, ComputeRewardRequest
from shared.auth import Caller
from shared.bootstrap import Runtime
from shared.errors import PermanentError
from shared.services.rewards import compute_one
from shared.services.sweeps import run_sweep

JOB_HEADER, TIME_HEADER = "X-CloudScheduler-JobName", "X-CloudScheduler-ScheduleTime"


def _schedule_time() -> tuple[str | None, datetime | None]:
    """Cloud Scheduler's job name and schedule time, for the run's idempotency claim.

    These headers are not trusted for anything but naming the run: the caller
    was authenticated by its OIDC token before this point.
    """
    job = flask.request.headers.get(JOB_HEADER)
    when = flask.request.headers.get(TIME_HEADER)
    if job is None or when is None:
        return None, None
    if not job or "\x00" in job:  # Postgres text cannot hold NUL
        raise PermanentError("a job name without NUL characters", field=JOB_HEADER)
    if "\x00" in when:
        raise PermanentError("not an ISO 8601 time", field=TIME_HEADER)
    try:
        parsed = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PermanentError("not an ISO 8601 time", field=TIME_HEADER) from exc
    if parsed.tzinfo is None:
        raise PermanentError("schedule time needs a time zone", field=TIME_HEADER)
    if not EARLIEST <= parsed < LATEST:  # the years every timestamp of the API takes
        raise PermanentError(f"schedule time must be from {EARLIEST.year} to {LATEST.year - 1}", field=TIME_HEADER)
    return job[:200], parsed


def _call(req: ComputeRewardRequest, rt: Runtime, caller: Caller) -> tuple[int, dict[str, Any]]:
    now = rt.clock.now()
    if req.post_id is not None:
        s = compute_one(rt.db, req.post_id, now, rt.reward_config, rt.params)
        rt.tasks.dispatch(s.tasks, now)
        return 200, {"post_id": s.post_id, "outcome": s.outcome, "value": s.value}
    job, scheduled_for = _schedule_time()
    run = run_sweep(
        rt.db,
        rt.tasks,
        now,
        rt.reward_config,
        rt.params,
        limit=req.limit,
        job=job,
        scheduled_for=scheduled_for,
        space=rt.space,
        normaliser_fit_after=rt.settings.policy_normaliser_fit_after,
        dashboard_every=timedelta(hours=rt.settings.dashboard_every_hours),
    )
    return 200, asdict(run)


@functions_framework.http
def compute_reward(request: flask.Request) -> flask.Response:
    return handle(request, "compute_reward", ComputeRewardRequest.model_validate_json, _call, allowed=("service",))
