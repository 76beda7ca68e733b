"""HTTP function ``record_snapshot``: published, metrics and deleted events."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._entry import handle
from shared.api import DeletedEvent, MetricsEvent, PublishedEvent, RecordSnapshotRequest
from shared.bootstrap import Runtime
from shared.reward import Snapshot
from shared.services.ingestion import Deleted, Event, Metrics, Published, record_event


def _event(req: PublishedEvent | MetricsEvent | DeletedEvent) -> Event:
    if isinstance(req, PublishedEvent):
        return Published(req.post_id, req.media_id, req.posted_at)
    if isinstance(req, DeletedEvent):
        return Deleted(req.post_id, req.deleted_at)
    counters = {
        "likes": req.likes,
        "comments": req.comments,
        "shares": req.shares,
        "saves": req.saves,
        "replies": req.replies,
        "reposts": req.reposts,
        "reactions": req.reactions,
    }
    snap = Snapshot(req.observed_at, counters, req.follower_count, req.timeslot_hours)
    return Metrics(req.post_id, snap, req.impressions, req.reach)


def _call(req: PublishedEvent | MetricsEvent | DeletedEvent, rt: Runtime) -> tuple[int, dict[str, Any]]:
    result = record_event(rt.db, _event(req), rt.clock.now(), rt.reward_config, rt.params.beta)
    rt.tasks.dispatch(result.tasks)
    return 200, {
        "post_id": result.post_id,
        "kind": result.kind,
        "changed": result.changed,
        "late": result.late,
        "reward": result.reward,
    }


@functions_framework.http
def record_snapshot(request: flask.Request) -> flask.Response:
    return handle(request, "record_snapshot", RecordSnapshotRequest.validate_json, _call, tagged=True)
