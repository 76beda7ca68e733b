"""Named fault points for the crash tests (SPEC §7: a crash at any point leaves no partial state).

A service calls ``fault_point("update_policy.after_claim")`` at a place where a
crash matters. It does nothing unless the environment names that point in
``LEARNER_FAULT_POINT``; then ``LEARNER_FAULT_ACTION`` says what happens:

- ``kill`` (default): the process SIGKILLs itself, like an instance that dies;
- ``raise``: a ``SimulatedCrash`` (a BaseException, so no handler turns it
  into an answer) unwinds the stack, which rolls the open transaction back;
- ``stall``: the process sleeps ``LEARNER_FAULT_STALL_SECONDS`` (default 5),
  so a test can terminate its database connection mid-transaction.

Production never sets these variables; the cost of a point is one dict lookup.
"""

from __future__ import annotations

import os
import signal
import time

POINT_VARIABLE = "LEARNER_FAULT_POINT"
ACTION_VARIABLE = "LEARNER_FAULT_ACTION"
STALL_VARIABLE = "LEARNER_FAULT_STALL_SECONDS"


class SimulatedCrash(BaseException):
    """A crash at a fault point, in process (``LEARNER_FAULT_ACTION=raise``)."""


def fault_point(name: str) -> None:
    if os.environ.get(POINT_VARIABLE) != name:
        return
    action = os.environ.get(ACTION_VARIABLE, "kill")
    if action == "raise":
        raise SimulatedCrash(name)
    if action == "stall":
        time.sleep(float(os.environ.get(STALL_VARIABLE, "5")))
        return
    os.kill(os.getpid(), signal.SIGKILL)
