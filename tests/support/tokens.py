"""Credentials minted in the tests: Supabase user tokens (ES256), Google OIDC tokens
(RS256) and the JWKS that publishes their keys, served on loopback by ``jwks_server``
(a fixture of tests/conftest.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SUPABASE_ISS = "https://project-ref.supabase.test/auth/v1"
OIDC_AUDIENCE = "https://europe-west1-learner-test.cloudfunctions.net/compute_reward"  # the function's own URL
TASKS_SA = "tasks@learner-test.iam.gserviceaccount.com"
SECRET = "sentinel-webhook-secret-7f3a"  # must never appear in a log line or a response
OLD_SECRET = "sentinel-old-secret-19c2"


class Keys:
    def __init__(self) -> None:
        self.supabase = ec.generate_private_key(ec.SECP256R1())
        self.google = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.stranger = ec.generate_private_key(ec.SECP256R1())  # same kid, wrong key

    def jwks(self, which: str) -> dict[str, Any]:
        if which == "supabase":
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.supabase.public_key()))
            jwk.update(kid="sb-1", alg="ES256", use="sig")
        else:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.google.public_key()))
            jwk.update(kid="g-1", alg="RS256", use="sig")
        return {"keys": [jwk]}


@contextmanager
def serve_json(answer: Callable[[str], Any]) -> Iterator[str]:
    """A loopback HTTP server answering GET <path> with ``answer(path)`` as JSON; its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(answer(self.path)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@contextmanager
def serve_jwks(keys: Keys) -> Iterator[str]:
    """The keys' JWKS at <base>/supabase.json and <base>/google.json, until closed."""
    with serve_json(lambda path: keys.jwks(path.strip("/").removesuffix(".json"))) as base:
        yield base


def user_token(keys: Keys, sub: str, **over: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": SUPABASE_ISS, "aud": "authenticated", "sub": sub, "role": "authenticated"}
    claims.update(iat=now, exp=now + 600)
    claims.update(over)
    key = over.pop("_key", None) or keys.supabase
    claims.pop("_key", None)
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "sb-1"})


def google_token(keys: Keys, **over: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": OIDC_AUDIENCE,
        "sub": "1234567890",
        "email": TASKS_SA,
        "email_verified": True,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(over)
    return jwt.encode(claims, keys.google, algorithm="RS256", headers={"kid": "g-1"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
