"""What the tests that rehearse Google's side share: the Cloud Tasks emulator, functions
served over HTTP by functions-framework, and a Google-like OIDC signer whose keys are
served as JWKS on loopback. Not a test module: test modules import from here."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import functions_framework
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server

from shared.config import PROJECT_ROOT
from tests.support.tokens import serve_json

PROJECT, LOCATION = "learner-test", "europe-west1"
EMULATOR = Path(os.environ.get("TASKS_EMULATOR_BIN", PROJECT_ROOT / ".venv-emulator/bin/gcloud-tasks-emulator"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


@contextmanager
def emulator(*args: str) -> Iterator[str]:
    """The Cloud Tasks emulator on a free port ("host:port"); ``args`` are its own options."""
    assert EMULATOR.exists(), f"the Cloud Tasks emulator is not installed at {EMULATOR} (run `make emulator`)"
    port = free_port()
    proc = subprocess.Popen(
        [str(EMULATOR), "start", "-p", str(port), "-q", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def served(targets: Sequence[str], answered: Counter[str] | None = None) -> Iterator[dict[str, str]]:
    """Each function of main.py in ``targets`` served over HTTP on loopback: name → base URL.
    With ``answered``, each request a function has answered is counted under its name."""
    urls, servers = {}, []
    for target in targets:
        app = functions_framework.create_app(target=target, source=str(PROJECT_ROOT / "main.py"))  # type: ignore[no-untyped-call]
        if answered is not None:
            app = _counting(app, target, answered)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls[target] = f"http://127.0.0.1:{server.server_port}/"
    try:
        yield urls
    finally:
        for server in servers:
            server.shutdown()


def _counting(app: Any, name: str, answered: Counter[str]) -> Any:
    lock = threading.Lock()

    def wsgi(environ: Any, start_response: Any) -> Any:
        body = list(app(environ, start_response))  # the whole answer first: then it was answered
        with lock:
            answered[name] += 1
        return body

    return wsgi


class GoogleSigner:
    """Signs OIDC tokens as Google does for Cloud Tasks and Cloud Scheduler (RS256, issuer
    accounts.google.com, the service account's email) and serves its key as JWKS."""

    KID = "g-1"

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def token(self, audience: str, email: str, **over: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "https://accounts.google.com",
            "aud": audience,
            "sub": "1234567890",
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": now + 600,
        }
        claims.update(over)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.KID})

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.KID, alg="RS256", use="sig")
        return {"keys": [jwk]}

    @contextmanager
    def serve_jwks(self) -> Iterator[str]:
        """The JWKS URL on loopback."""
        with serve_json(lambda _path: self.jwks()) as base:
            yield f"{base}/certs"


class _ShiftedClock:
    def __init__(self, when: datetime) -> None:
        self._offset = when - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


@contextmanager
def as_of(runtime: Any, when: datetime) -> Iterator[None]:
    """The runtime's clock set back to ``when`` and running on: a post generated in here
    was generated then (a post may not be published before it was generated), so its
    reward falls due on the real clock a day later."""
    old = runtime.clock
    runtime.clock = _ShiftedClock(when)
    try:
        yield
    finally:
        runtime.clock = old


def published_a_while_ago(runtime: Any, functions: Any, business: Any, posted_at: datetime, platform: str) -> str:
    """A post generated and auto-published at ``posted_at`` (in the past, on the real clock):
    its reward falls due 24 h after that. The post's id."""
    with as_of(runtime, posted_at):
        status, post = functions.post(
            "generate_post",
            {
                "business_id": str(business),
                "request_id": f"ago-{uuid.uuid4().hex[:8]}",
                "platform": platform,
                "topic": "quarterly results",
                "topic_embedding": [0.05] * 384,
                "scheduled_for": posted_at.isoformat(),
                "auto_publish": True,
            },
        )
    assert status == 201, post
    return str(post["post_id"])
