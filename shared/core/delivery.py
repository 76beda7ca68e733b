"""Which attempt of a Cloud Task a request is, from the headers Cloud Tasks adds.

Cloud Tasks retries a task whose handler answers anything but 2xx, up to the
queue's ``max_attempts``; after the last attempt the task is gone. A handler
that rejects the last attempt therefore leaves a dead-letter record, so a
poison task is never lost silently. The headers only *name* the attempt: the
caller has been authenticated (OIDC) before they are read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

QUEUE_HEADER = "X-CloudTasks-QueueName"
NAME_HEADER = "X-CloudTasks-TaskName"
RETRY_HEADER = "X-CloudTasks-TaskRetryCount"  # attempts before this one (with or without an answer)
EXECUTION_HEADER = "X-CloudTasks-TaskExecutionCount"  # earlier attempts that got an answer from a handler


@dataclass(frozen=True)
class TaskDelivery:
    queue: str
    task_name: str
    attempt: int  # 1-based: retry count + 1
    executions: int

    def is_final(self, max_attempts: int) -> bool:
        """True on the queue's last attempt (or beyond it, if the queue allows more than we were told)."""
        return self.attempt >= max_attempts


_MAX_COUNT = 10**9 - 1  # a count beyond any queue's attempts; attempt + 1 still fits an integer column


def _count(value: str | None) -> int | None:
    """A header count: ASCII digits only (``str.isdigit`` also takes '²', which ``int`` refuses), bounded."""
    text = (value or "").strip()
    if not text or not (text.isascii() and text.isdigit()):
        return None
    return min(int(text), _MAX_COUNT)


def task_delivery(header: Callable[[str], str | None]) -> TaskDelivery | None:
    """The delivery named by the request's headers; None for a request that is not a Cloud Task."""
    name = header(NAME_HEADER)
    retries = _count(header(RETRY_HEADER))
    if not name or retries is None:
        return None
    executions = _count(header(EXECUTION_HEADER))
    return TaskDelivery(
        queue=(header(QUEUE_HEADER) or "")[:200],
        task_name=name[:500],
        attempt=retries + 1,
        executions=retries if executions is None else executions,
    )
