"""Named fault points for the crash tests (docs/spec.md §7: a crash at any point leaves no partial state).

A service calls ``fault_point("update_policy.after_claim")`` at a place where a
crash matters. It does nothing unless the environment names that point in
``LEARNER_FAULT_POINT``; then ``LEARNER_FAULT_ACTION`` says what happens:

- ``kill`` (default): the process SIGKILLs itself, like an instance that dies;
- ``raise``: a ``SimulatedCrash`` (a BaseException, so no handler turns it
  into an answer) unwinds the stack, which rolls the open transaction back;
- ``stall``: the process waits at the point, so a test can terminate its
  database connection mid-transaction. With ``LEARNER_FAULT_SYNC_DIR`` set, the
  wait is a handshake: the process writes ``reached`` in that folder, then
  waits until the test writes ``release`` (at most
  ``LEARNER_FAULT_STALL_SECONDS``, default 5, so a broken test cannot hang
  it); without it, the process sleeps that long.

Production never sets these variables; the cost of a point is one dict lookup.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

POINT_VARIABLE = "LEARNER_FAULT_POINT"
ACTION_VARIABLE = "LEARNER_FAULT_ACTION"
STALL_VARIABLE = "LEARNER_FAULT_STALL_SECONDS"
SYNC_VARIABLE = "LEARNER_FAULT_SYNC_DIR"
REACHED, RELEASE = "reached", "release"


class SimulatedCrash(BaseException):
    """A crash at a fault point, in process (``LEARNER_FAULT_ACTION=raise``)."""


def _stall(name: str) -> None:
    limit = float(os.environ.get(STALL_VARIABLE, "5"))
    sync = os.environ.get(SYNC_VARIABLE)
    if not sync:
        time.sleep(limit)
        return
    folder = Path(sync)
    (folder / REACHED).write_text(name)  # a point hit again (a loop) finds the release already there
    deadline = time.monotonic() + limit
    while not (folder / RELEASE).exists() and time.monotonic() < deadline:
        time.sleep(0.005)


def fault_point(name: str) -> None:
    if os.environ.get(POINT_VARIABLE) != name:
        return
    action = os.environ.get(ACTION_VARIABLE, "kill")
    if action == "raise":
        raise SimulatedCrash(name)
    if action == "stall":
        _stall(name)
        return
    os.kill(os.getpid(), signal.SIGKILL)
