"""A handler process per request, to be killed at a fault point (docs/spec.md §7 crash tests).

``python -m tests.reliability.runner`` imports main.py through functions-framework
once, then for every request line on stdin forks a child: the child builds its
runtime from the environment (its own database connections, a manual clock at
the time the test gives), sets the fault point, and serves the one request
through the functions-framework app. The parent answers one line on stdout:
the HTTP status and body, or the signal that ended the child. A fork costs
milliseconds where a fresh interpreter costs a second, so hundreds of kills fit
in the suite.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.config import PROJECT_ROOT

APP_NAME = "learner-fault-child"  # the children's application_name in pg_stat_activity
TARGETS = ("generate_post", "record_snapshot", "compute_reward", "update_policy")


def _child(app: Any, request: dict[str, Any], out: Path) -> None:
    from shared.bootstrap import build_runtime, use_runtime
    from shared.clock import ManualClock
    from shared.faults import ACTION_VARIABLE, POINT_VARIABLE, SYNC_VARIABLE

    os.environ["PGAPPNAME"] = APP_NAME
    if request.get("fault"):
        os.environ[POINT_VARIABLE] = request["fault"]
        os.environ[ACTION_VARIABLE] = request.get("action", "kill")
    if request.get("sync"):
        os.environ[SYNC_VARIABLE] = request["sync"]
    runtime = build_runtime(clock=ManualClock(datetime.fromisoformat(request["now"])))
    use_runtime(runtime)
    resp = app.test_client().post(
        "/", data=json.dumps(request["body"]).encode(), content_type="application/json", headers=request["headers"]
    )
    out.write_text(
        json.dumps({"status": resp.status_code, "body": resp.get_json(silent=True), "headers": dict(resp.headers)})
    )
    runtime.db.close()


def serve() -> None:
    import functions_framework

    source = str(PROJECT_ROOT / "main.py")
    apps = {t: functions_framework.create_app(target=t, source=source) for t in TARGETS}  # type: ignore[no-untyped-call]
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "answer.json"
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    _child(apps[request["target"]], request, out)
                except BaseException as exc:  # reported to the parent, never swallowed
                    out.write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
                    code = 1
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            answer: dict[str, Any] = {}
            if os.WIFSIGNALED(status):
                answer["signal"] = os.WTERMSIG(status)
            elif out.exists():
                answer.update(json.loads(out.read_text()))
            answer["exit"] = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        print(json.dumps(answer), flush=True)


@dataclass
class Outcome:
    status: int | None  # None: no answer (the process died)
    body: Any
    headers: dict[str, str]
    signal: int | None
    error: str | None

    @property
    def killed(self) -> bool:
        return self.signal == signal.SIGKILL


class HandlerProcesses:
    """The test side: one runner process; ``send`` then ``receive`` (or ``call``) per request."""

    def __init__(self, database_url: str, extra_env: dict[str, str] | None = None) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "AUTH_MODE": "disabled",
            "AUTO_MIGRATE": "false",
            "EMBEDDER": "none",
            "TASK_DISPATCH": "local",
            "DB_POOL_MAX": "2",
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        for name in ("LEARNER_FAULT_POINT", "LEARNER_FAULT_ACTION", "XAI_API_KEY", "GEMINI_API_KEY"):
            env.pop(name, None)
        env.update(extra_env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.runner"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if os.environ.get("RUNNER_STDERR") else subprocess.DEVNULL,  # RUNNER_STDERR=1: see its logs
            text=True,
            env=env,
            cwd=PROJECT_ROOT,
        )
        assert json.loads(self._line()) == {"ready": True}

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the runner exited ({self.proc.poll()})")
        return line

    def send(
        self,
        target: str,
        body: dict[str, Any],
        now: datetime,
        *,
        fault: str | None = None,
        action: str = "kill",
        headers: dict[str, str] | None = None,
        sync: Path | None = None,
    ) -> None:
        """``sync``: the folder of the stall handshake (shared/faults.py) for this request."""
        assert self.proc.stdin is not None
        request = {"target": target, "body": body, "now": now.isoformat(), "fault": fault, "action": action}
        request["headers"] = headers or {}
        request["sync"] = str(sync) if sync else None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()

    def answered(self, timeout: float) -> bool:
        """True when the answer to the request sent is ready to be received (waits up to ``timeout``)."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return bool(ready)

    def receive(self) -> Outcome:
        answer = json.loads(self._line())
        return Outcome(
            status=answer.get("status"),
            body=answer.get("body"),
            headers=answer.get("headers", {}),
            signal=answer.get("signal"),
            error=answer.get("error"),
        )

    def call(self, target: str, body: dict[str, Any], now: datetime, **kwargs: Any) -> Outcome:
        self.send(target, body, now, **kwargs)
        return self.receive()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    serve()
