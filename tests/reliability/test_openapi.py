"""openapi.yaml is generated from the pydantic models (devtools/openapi.py), and schemathesis
fuzzes every operation of it against the functions served on loopback with auth enforced:
no 5xx, invalid data rejected, every response (status, content type, headers, body) as
documented, and every generated request sent without credentials answered 401.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import functions_framework
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from werkzeug.serving import make_server

from devtools.openapi import OPENAPI_PATH, build, render
from shared import api
from shared.auth import AuthConfig, Authenticator
from shared.bootstrap import Runtime, use_runtime
from shared.config import PROJECT_ROOT
from simulation.local_functions import TARGETS as POST_TARGETS
from tests.reliability import scale
from tests.support.functions import generate, publish
from tests.support.tokens import OIDC_AUDIENCE, SECRET, SUPABASE_ISS, TASKS_SA, Keys, google_token, user_token

TARGETS = (*POST_TARGETS, "report")
OWNER = "6b1f8a6e-51e1-4b5e-9a59-0c3f1f0d2a11"
# Minted at import, so schemathesis itself holds valid credentials for every security scheme (and
# its ignored_auth check can take them away and expect a refusal); they live an hour.
KEYS = Keys()
USER_TOKEN = user_token(KEYS, OWNER, exp=int(time.time()) + 3600)
SERVICE_TOKEN = google_token(KEYS, exp=int(time.time()) + 3600)


def test_the_committed_openapi_yaml_is_the_generated_one():
    assert OPENAPI_PATH.read_text("utf-8") == render(), "run `python -m devtools.openapi` and commit openapi.yaml"


def test_the_request_schemas_are_the_models_the_functions_validate_with():
    spec = build()
    schemas = spec["components"]["schemas"]
    assert schemas["GeneratePostRequest"] == api.GeneratePostRequest.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    assert schemas["GeneratePostRequest"]["additionalProperties"] is False
    embedding = schemas["GeneratePostRequest"]["properties"]["topic_embedding"]["anyOf"][0]
    assert (embedding["minItems"], embedding["maxItems"]) == (384, 384)
    one_of = spec["paths"]["/record_snapshot"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert one_of["discriminator"]["propertyName"] == "type"
    assert set(one_of["discriminator"]["mapping"]) == {"published", "metrics", "deleted", "INSERT"}
    assert yaml.safe_load(OPENAPI_PATH.read_text("utf-8")) == spec


class Functions:
    """Every function at /<name> on one loopback port (on Cloud Run each has its own URL)."""

    def __init__(self) -> None:
        source = str(PROJECT_ROOT / "main.py")
        create = functions_framework.create_app
        self.apps = {t: create(target=t, source=source) for t in TARGETS}  # type: ignore[no-untyped-call]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        name = environ.get("PATH_INFO", "/").strip("/")
        if name not in self.apps:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": {"code": "not_found", "message": "no such function"}}']
        environ["PATH_INFO"] = "/"
        return self.apps[name](environ, start_response)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, Functions(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@dataclasses.dataclass
class Secured:
    runtime: Runtime
    keys: Keys
    owner: str
    business: str
    post: str


@pytest.fixture(scope="module")
def keys() -> Keys:
    return KEYS


@pytest.fixture
def secured(runtime, functions, make_profile, clock, keys, jwks_server) -> Iterator[Secured]:
    """Auth enforced (keys minted by the test, JWKS on loopback), and a business with a published post."""
    owner = OWNER
    business = make_profile(owner_id=owner)
    post = generate(functions, business, "fuzz-post", "instagram")["post_id"]
    publish(functions, post, clock.now())
    config = AuthConfig(
        enforce=True,
        supabase_jwks_url=f"{jwks_server}/supabase.json",
        supabase_issuer=SUPABASE_ISS,
        google_jwks_url=f"{jwks_server}/google.json",
        oidc_audiences=(OIDC_AUDIENCE,),
        oidc_emails=(TASKS_SA,),
        webhook_secrets=(SECRET,),
    )
    rt = dataclasses.replace(runtime, auth=Authenticator(config))
    use_runtime(rt)
    yield Secured(rt, keys, owner, str(business), post)
    use_runtime(runtime)


CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "all", "max-examples": scale.FUZZ_EXAMPLES},
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            # A generated body over the size limit is invalid data rejected before parsing: 413.
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
            },
        },
        "auth": {
            "openapi": {
                "supabaseUser": {"bearer": USER_TOKEN},
                "googleOidc": {"bearer": SERVICE_TOKEN},
                "webhookSecret": {"api_key": SECRET},
            }
        },
    }
)
schema = schemathesis.openapi.from_path(str(OPENAPI_PATH), config=CONFIG)

STATUSES: Counter[tuple[str, int]] = Counter()


def _aim(case: Any, s: Secured) -> None:
    """Point some valid bodies at the stored business and post, so not every id is unknown."""
    meta = case.meta
    if meta is None or meta.generation.mode.is_negative or not isinstance(case.body, dict):
        return
    if "business_id" in case.body:
        case.body["business_id"] = s.business
    if "post_id" in case.body and isinstance(case.body["post_id"], str):
        case.body["post_id"] = s.post


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_operation_fuzzed_against_the_served_functions_answers_as_documented(case, secured, base_url):
    operation = case.operation.path.strip("/")
    flip = STATUSES[(operation, -1)]
    STATUSES[(operation, -1)] += 1
    if flip % 2:
        _aim(case, secured)
    response = case.call_and_validate(base_url=base_url)
    STATUSES[(operation, response.status_code)] += 1
    assert response.status_code < 500, response.text[:500]
    if case.method.upper() == case.operation.method.upper():  # (another method is a 405 before anything)
        bare = case.call(base_url=base_url, headers={"Authorization": "", "X-Webhook-Secret": ""})
        assert bare.status_code == 401, (bare.status_code, bare.text[:300])


def test_every_function_is_an_operation_of_the_fuzzed_schema():
    """schemathesis makes one test per operation (above), so every function is fuzzed.

    (This no longer counts the calls the fuzz tests made: under xdist they run on
    either worker, and a check in one process saw only some operations.)
    """
    paths = yaml.safe_load(OPENAPI_PATH.read_text("utf-8"))["paths"]
    assert {p.strip("/") for p in paths} == set(TARGETS)


@pytest.fixture(scope="module", autouse=True)
def _fuzz_figures() -> Iterator[None]:
    """After this module, the calls and statuses this process saw (one line per xdist worker)."""
    yield
    calls = {op: n for (op, status), n in STATUSES.items() if status == -1}
    if not calls:
        return
    by_status: dict[str, dict[str, int]] = {}
    for (op, status), n in sorted(STATUSES.items()):
        if status >= 0:
            by_status.setdefault(op, {})[str(status)] = n
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    scale.record("openapi.fuzz", worker=worker, calls=calls, statuses=by_status, server_errors=0)
