"""Tasks through Google Cloud Tasks, relayed from the transactional outbox.

A task row is written in the same transaction as the state change it
follows; after commit the relay creates the Cloud Task (HTTP POST to the
target function, OIDC token, schedule time) and marks the row dispatched.
A crash between commit and creation leaves the row pending, and the sweep
dispatches it again. Task names are deterministic, so a second creation is
ALREADY_EXISTS, which counts as done.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.core.tasks import Target, Task
from shared.logs import log
from shared.store import outbox
from shared.store.db import Database

# How long Cloud Tasks waits for a function's answer before it counts the attempt failed.
DISPATCH_DEADLINE_SECONDS = 60


class TaskTransport(Protocol):
    def create(self, task: Task) -> None:
        """Create the task; an already existing task of that name is success."""
        ...


@dataclass(frozen=True)
class CloudTasksTarget:
    queue: str  # queue id, e.g. "compute-reward"
    url: str  # the target function's HTTPS URL


def task_id(name: str) -> str:
    """Cloud Tasks spreads load by name prefix: a short hash first, the readable name after."""
    return f"{hashlib.sha256(name.encode()).hexdigest()[:12]}-{name}"


class CloudTasksTransport:
    """Creates HTTP tasks with an OIDC token; ids-only JSON bodies."""

    def __init__(
        self,
        client: Any,  # google.cloud.tasks_v2.CloudTasksClient (imported lazily: a cold start pays only if used)
        *,
        project: str,
        location: str,
        targets: Mapping[Target, CloudTasksTarget],
        service_account: str | None,
    ) -> None:
        self.client = client
        self.project = project
        self.location = location
        self.targets = targets
        self.service_account = service_account

    def request(self, task: Task) -> tuple[str, Any]:
        """The (parent queue path, tasks_v2.Task) that ``create`` sends."""
        from google.cloud import tasks_v2
        from google.protobuf import duration_pb2, timestamp_pb2

        target = self.targets[task.target]
        parent = self.client.queue_path(self.project, self.location, target.queue)
        http = tasks_v2.HttpRequest(
            http_method=tasks_v2.HttpMethod.POST,
            url=target.url,
            headers={"Content-Type": "application/json"},
            body=json.dumps(dict(task.payload)).encode(),
        )
        if self.service_account:
            # Cloud Run's front end accepts a token only for the service's own URL (or a
            # custom audience set on the service): the audience is the URL the task calls.
            http.oidc_token = tasks_v2.OidcToken(service_account_email=self.service_account, audience=target.url)
        cloud_task = tasks_v2.Task(
            name=f"{parent}/tasks/{task_id(task.name)}",
            http_request=http,
            dispatch_deadline=duration_pb2.Duration(seconds=DISPATCH_DEADLINE_SECONDS),
        )
        if task.schedule_time is not None:
            ts = timestamp_pb2.Timestamp()
            ts.FromDatetime(task.schedule_time)
            cloud_task.schedule_time = ts
        return parent, cloud_task

    def create(self, task: Task) -> None:
        from google.api_core.exceptions import AlreadyExists

        parent, cloud_task = self.request(task)
        # ALREADY_EXISTS: created before (a redelivery or a re-dispatch), so done.
        with suppress(AlreadyExists):
            self.client.create_task(parent=parent, task=cloud_task, timeout=10.0)


class OutboxRelay:
    """The production TaskSink: outbox rows → Cloud Tasks, after commit."""

    def __init__(
        self, db: Database, transport: TaskTransport, *, stale_after: timedelta = timedelta(minutes=2)
    ) -> None:
        self.db = db
        self.transport = transport
        self.stale_after = stale_after

    def _send(self, tasks: Sequence[Task], now: datetime) -> int:
        sent = []
        for task in tasks:
            try:
                self.transport.create(task)
            except Exception as exc:  # any failure leaves the row pending for the sweep
                log("WARNING", "task not dispatched", task=task.name, error=type(exc).__name__)
                continue
            sent.append(task.name)
        if sent:
            with self.db.transaction() as conn:
                for name in sent:
                    outbox.mark(conn, name, "dispatched", now)
        return len(sent)

    def dispatch(self, tasks: Sequence[Task], now: datetime) -> None:
        self._send(tasks, now)

    def redispatch_stale(self, now: datetime) -> int:
        """Send pending rows older than ``stale_after`` (their dispatch after commit failed)."""
        with self.db.transaction() as conn:
            rows = outbox.pending_before(conn, now - self.stale_after, limit=500)
        return self._send([r.task for r in rows], now)
