"""The functions served in process by functions-framework (test clients)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import functions_framework
from werkzeug.test import TestResponse

from shared.config import PROJECT_ROOT

TARGETS = (
    "generate_post",
    "record_snapshot",
    "compute_reward",
    "update_policy",
    "review_post",
    "save_profile",
    "read_business",
)


class LocalFunctions:
    """One functions-framework app per target, built once (building re-executes main.py)."""

    def __init__(self) -> None:
        source = str(PROJECT_ROOT / "main.py")
        create = functions_framework.create_app  # untyped library call
        self._clients = {t: create(target=t, source=source).test_client() for t in TARGETS}  # type: ignore[no-untyped-call]

    def post(
        self, target: str, body: Mapping[str, Any] | bytes, headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any]:
        resp = self.response(target, body, headers)
        return resp.status_code, resp.get_json(silent=True)

    def response(
        self, target: str, body: Mapping[str, Any] | bytes, headers: Mapping[str, str] | None = None
    ) -> TestResponse:
        """The whole answer (status, headers, body) to a POST of ``body``."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        resp: TestResponse = self._clients[target].post(
            "/", data=data, content_type="application/json", headers=dict(headers or {})
        )
        return resp

    def invoke(self, target: str, payload: Mapping[str, str]) -> int:
        """The local task runner's delivery: POST the task body to its function."""
        status, _ = self.post(target, dict(payload))
        return status
