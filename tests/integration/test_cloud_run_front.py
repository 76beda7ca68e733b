"""Cloud Run's front end, rehearsed: it lets a request reach a function only with a
Google-signed OIDC token whose audience is the service's own URL (or a custom audience
set on the service; none is). Here a loopback proxy plays that front end before
compute_reward and update_policy served by functions-framework; the Cloud Tasks
emulator holds the tasks the product creates, and this test plays Cloud Tasks'
dispatch: it delivers each task with the token the task asks for (its oidc_token's
audience and service account). The emulator's own deliveries carry no token, so the
front end refuses them, as Cloud Run would."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest

from deploy.scheduler_jobs import build_jobs
from shared.auth import AuthConfig, Authenticator
from shared.bootstrap import Runtime, cloud_tasks_client, use_runtime
from shared.clock import SystemClock
from shared.config import Settings
from shared.core.tasks import Target
from shared.tasks.cloud import CloudTasksTarget, CloudTasksTransport, OutboxRelay
from tests.support import cloud as cloud_support
from tests.support.cloud import LOCATION, PROJECT, GoogleSigner

pytestmark = pytest.mark.emulator

TASKS_SA = "tasks@learner-test.iam.gserviceaccount.com"
SCHEDULER_SA = "scheduler@learner-test.iam.gserviceaccount.com"
DELIVERED: set[str] = set()  # the tasks this test's dispatcher delivered
QUEUES: dict[Target, str] = {"compute_reward": "compute-reward", "update_policy": "update-policy"}


class FrontEnd:
    """Cloud Run's IAM check before one service: a bearer token signed by Google's key, not
    expired, with ``aud`` = the service URL; anything else gets 401 and never reaches it."""

    def __init__(self, signer: GoogleSigner, backend: str) -> None:
        self.backend, self.public_key = backend, signer.key.public_key()
        self.passed: list[str] = []  # the paths it let through
        self.refused: list[str] = []  # why it refused
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                reason = front.check(self.headers.get("Authorization") or "")
                if reason is not None:
                    front.refused.append(reason)
                    self.send_response(401)
                    self.end_headers()
                    return
                front.passed.append(self.path)
                request = urllib.request.Request(
                    front.backend.rstrip("/") + self.path,
                    data=body,
                    method="POST",
                    headers={k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")},
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as resp:
                        status, answer = resp.status, resp.read()
                except urllib.error.HTTPError as exc:
                    status, answer = exc.code, exc.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"  # the service URL: no trailing slash
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def check(self, authorization: str) -> str | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "no token"
        try:
            jwt.decode(
                token, self.public_key, algorithms=["RS256"], audience=self.url, issuer="https://accounts.google.com"
            )
        except jwt.PyJWTError as exc:
            return type(exc).__name__
        return None


@pytest.fixture(scope="module")
def google() -> Iterator[tuple[GoogleSigner, str]]:
    signer = GoogleSigner()
    with signer.serve_jwks() as url:
        yield signer, url


@pytest.fixture(scope="module")
def stack(google: tuple[GoogleSigner, str]) -> Iterator[tuple[str, dict[str, FrontEnd]]]:
    signer, _ = google
    with cloud_support.emulator() as address, cloud_support.served(tuple(QUEUES)) as urls:
        fronts = {name: FrontEnd(signer, url) for name, url in urls.items()}
        yield address, fronts
        for front in fronts.values():
            front.server.shutdown()


@pytest.fixture
def deployed(
    runtime: Runtime, google: tuple[GoogleSigner, str], stack: tuple[str, dict[str, FrontEnd]]
) -> Iterator[tuple[Runtime, Any]]:
    """The runtime as deployed: tokens checked with each function's own URL as the audience
    (one process serves both here, so it accepts both URLs), tasks relayed to the emulator
    with the tasks service account, targets at the front ends' URLs."""
    _, jwks = google
    address, fronts = stack
    client = cloud_tasks_client(Settings(cloud_tasks_emulator=address))
    for queue in QUEUES.values():
        try:
            client.create_queue(  # type: ignore[attr-defined]
                parent=f"projects/{PROJECT}/locations/{LOCATION}",
                queue={"name": client.queue_path(PROJECT, LOCATION, queue)},  # type: ignore[attr-defined]
            )
        except Exception as exc:  # created by an earlier test of this module
            assert "exist" in str(exc).lower(), exc
    transport = CloudTasksTransport(
        client,
        project=PROJECT,
        location=LOCATION,
        targets={name: CloudTasksTarget(queue, fronts[name].url) for name, queue in QUEUES.items()},
        service_account=TASKS_SA,
    )
    config = AuthConfig(
        enforce=True,
        google_jwks_url=jwks,
        oidc_audiences=tuple(front.url for front in fronts.values()),
        oidc_emails=(TASKS_SA, SCHEDULER_SA),
    )
    old_clock, old_tasks = runtime.clock, runtime.tasks
    runtime.clock, runtime.tasks = SystemClock(), OutboxRelay(runtime.db, transport)
    secured = dataclasses.replace(runtime, auth=Authenticator(config))
    yield secured, client
    use_runtime(runtime)
    runtime.clock, runtime.tasks = old_clock, old_tasks


def _dispatch(client: Any, signer: GoogleSigner, queue: str, timeout: float = 20.0) -> list[int]:
    """Cloud Tasks' part: each task waiting in ``queue`` delivered once, with an OIDC token for
    the audience and service account the task names. The statuses returned. (The emulator has
    no DeleteTask: its own tokenless retries of the same task go on, and are refused.)"""
    parent = client.queue_path(PROJECT, LOCATION, queue)
    deadline, statuses = time.monotonic() + timeout, list[int]()
    while not statuses and time.monotonic() < deadline:
        for task in client.list_tasks(parent=parent):
            if task.name in DELIVERED:
                continue
            DELIVERED.add(task.name)
            http = task.http_request
            token = signer.token(http.oidc_token.audience, http.oidc_token.service_account_email)
            request = urllib.request.Request(
                http.url,
                data=http.body,
                method="POST",
                headers={**dict(http.headers), "Authorization": f"Bearer {token}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as resp:
                    statuses.append(resp.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
        time.sleep(0.1)
    return statuses


def _post(url: str, body: dict[str, Any], token: str | None) -> int:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _count(rt: Runtime, sql: str) -> Any:
    with rt.db.transaction() as conn:
        return conn.execute(sql).fetchone()[0]  # type: ignore[index]


def test_a_reward_task_and_its_update_pass_cloud_runs_audience_check_and_close_the_loop(
    runtime, deployed, google, stack, functions, make_profile
):
    signer, _ = google
    _, fronts = stack
    secured, client = deployed
    business = make_profile()
    posted_at = datetime.now(UTC) - timedelta(hours=25)  # its reward is due now
    post_id = cloud_support.published_a_while_ago(runtime, functions, business, posted_at, "linkedin")
    status, _ = functions.post(
        "record_snapshot",
        {
            "type": "metrics",
            "post_id": post_id,
            "observed_at": (posted_at + timedelta(hours=24)).isoformat(),
            "likes": 120,
            "comments": 9,
            "follower_count": 5000,
        },
    )
    assert status == 200
    use_runtime(secured)

    # What the product asked Cloud Tasks for: a token for the URL the task calls.
    parent = client.queue_path(PROJECT, LOCATION, QUEUES["compute_reward"])
    created = list(client.list_tasks(parent=parent))
    assert [t.http_request.oidc_token.audience for t in created] == [fronts["compute_reward"].url]
    assert [t.http_request.oidc_token.service_account_email for t in created] == [TASKS_SA]

    assert _dispatch(client, signer, QUEUES["compute_reward"]) == [200]
    assert _dispatch(client, signer, QUEUES["update_policy"]) == [200]  # compute_reward created it
    assert _count(runtime, "select version from policy_state") == 1
    assert _count(runtime, "select status from rewards") == "computed"
    # Nothing without a valid token got through: the emulator's own, tokenless deliveries were refused.
    assert set(fronts["compute_reward"].refused) <= {"no token"}
    assert fronts["compute_reward"].passed == ["/"] and fronts["update_policy"].passed == ["/"]


def test_the_sweep_passes_with_the_scheduler_jobs_audience_and_the_old_shared_audience_is_refused(
    runtime, deployed, google, stack
):
    signer, _ = google
    _, fronts = stack
    secured, _ = deployed
    use_runtime(secured)
    front = fronts["compute_reward"]
    before = len(front.passed)
    # The job deploy/scheduler_jobs.py builds (and terraform/scheduler.tf declares) names the URL it calls.
    (job,) = build_jobs(PROJECT, LOCATION, SCHEDULER_SA)
    assert job.http_target.oidc_token.audience == job.http_target.uri
    body = json.loads(job.http_target.body)

    assert _post(front.url, body, signer.token("learner-functions", SCHEDULER_SA)) == 401  # the audience before
    assert _post(front.url, body, signer.token(fronts["update_policy"].url, SCHEDULER_SA)) == 401
    assert _post(front.url, body, None) == 401
    assert len(front.passed) == before  # none of them reached the function
    assert _post(front.url, body, signer.token(front.url, SCHEDULER_SA)) == 200
    # Behind the front end, the function checks the audience too.
    assert _post(front.backend, body, signer.token("learner-functions", SCHEDULER_SA)) == 401
    assert _post(front.backend, body, signer.token(front.url, "stranger@elsewhere.iam.gserviceaccount.com")) == 403
