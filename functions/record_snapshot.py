"""HTTP function ``record_snapshot``: published, metrics and deleted events, and the
Supabase Database Webhook of a snapshot inserted straight into the table."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._entry import handle
from shared.api import DeletedEvent, MetricsEvent, PublishedEvent, RecordSnapshotRequest, SnapshotInserted
from shared.auth import Caller, Forbidden
from shared.bootstrap import Runtime
from shared.core.reward import Snapshot
from shared.services.access import check_post
from shared.services.ingestion import Deleted, Event, Inserted, Metrics, Published, record_event

Request = PublishedEvent | MetricsEvent | DeletedEvent | SnapshotInserted


def _event(req: Request) -> Event:
    if isinstance(req, SnapshotInserted):
        return Inserted(req.record.snapshot_id, req.record.post_id)
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


def _call(req: Request, rt: Runtime, caller: Caller) -> tuple[int, dict[str, Any]]:
    if isinstance(req, SnapshotInserted):
        if caller.kind == "user":  # a notification of a table insert comes from the database only
            raise Forbidden("users cannot send database notifications", field="type")
    elif caller.kind == "webhook":  # the webhook's secret only ever announces inserted snapshots
        raise Forbidden("the webhook secret only announces inserted snapshots", field="type")
    else:
        check_post(rt.db, caller, req.post_id)
    result = record_event(rt.db, _event(req), rt.clock.now(), rt.reward_config, rt.params, rt.limits)
    rt.tasks.dispatch(result.tasks, rt.clock.now())
    return 200, {
        "post_id": result.post_id,
        "kind": result.kind,
        "changed": result.changed,
        "late": result.late,
        "reward": result.reward,
    }


@functions_framework.http
def record_snapshot(request: flask.Request) -> flask.Response:
    return handle(
        request,
        "record_snapshot",
        RecordSnapshotRequest.validate_json,
        _call,
        allowed=("user", "service", "webhook"),
        tagged=True,
    )
