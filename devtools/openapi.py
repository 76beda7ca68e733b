"""openapi.yaml from the pydantic models of shared/api.py: ``python -m devtools.openapi [--check]``.

Each function is its own Cloud Run URL (https://REGION-PROJECT.cloudfunctions.net/NAME),
so each is a path here, with that server. The request schemas are the very
models the functions validate with; the response schemas are shared/api.py's
answer models. tests/reliability/test_openapi.py checks that the committed
file is what this writes, and fuzzes every operation against it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml
from pydantic import TypeAdapter

from shared import api
from shared.config import PROJECT_ROOT

OPENAPI_PATH = PROJECT_ROOT / "openapi.yaml"
REF = "#/components/schemas/{model}"

SECURITY_SCHEMES = {
    "supabaseUser": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Supabase user's access token (ES256/RS256, aud authenticated, role authenticated).",
    },
    "googleOidc": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Google OIDC token of an allowed service account (Cloud Tasks, Cloud Scheduler, operators).",
    },
    "webhookSecret": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Webhook-Secret",
        "description": "The Supabase Database Webhook's shared secret.",
    },
}

# name → (summary, request body adapter or None for GET, success status, success schema, callers)
OPERATIONS: dict[str, tuple[str, Any, str, Any, list[str]]] = {
    "generate_post": (
        "Choose the creative parameters of a post, write its prompts and log the decision",
        TypeAdapter(api.GeneratePostRequest),
        "201",
        TypeAdapter(api.GeneratePostResponse),
        ["supabaseUser", "googleOidc"],
    ),
    "record_snapshot": (
        "Record what happened to a post on its platform: published, metrics, deleted (or a webhook of an insert)",
        api.RecordSnapshotRequest,
        "200",
        TypeAdapter(api.RecordSnapshotResponse),
        ["supabaseUser", "googleOidc", "webhookSecret"],
    ),
    "compute_reward": (
        "Settle one post's reward (Cloud Tasks) or sweep every due reward (Cloud Scheduler)",
        TypeAdapter(api.ComputeRewardRequest),
        "200",
        TypeAdapter(api.ComputeRewardResponse),
        ["googleOidc"],
    ),
    "review_post": (
        "A person approves, rejects (final) or edits the caption of a draft before it is published",
        TypeAdapter(api.ReviewPostRequest),
        "200",
        TypeAdapter(api.ReviewPostResponse),
        ["supabaseUser", "googleOidc"],
    ),
    "read_business": (
        "Read a business: its posts with decisions, latest snapshots and rewards (a page at a time), when to post,"
        " or what the policy would choose for it now",
        TypeAdapter(api.ReadBusinessRequest),
        "200",
        TypeAdapter(api.ReadBusinessResponse),
        ["supabaseUser", "googleOidc"],
    ),
    "save_profile": (
        "Create or update a business profile (its text embedded when no vector is given)",
        TypeAdapter(api.ProfileRequest),
        "201",
        TypeAdapter(api.ProfileResponse),
        ["supabaseUser", "googleOidc"],
    ),
    "update_policy": (
        "Apply one post's reward to the policy, once",
        TypeAdapter(api.UpdatePolicyRequest),
        "200",
        TypeAdapter(api.UpdatePolicyResponse),
        ["googleOidc"],
    ),
}

ERRORS = {
    "400": "The body is not valid (the fields say where).",
    "401": "No valid credentials.",
    "403": "Valid credentials, but not for this.",
    "404": "No such business, post, reward or snapshot.",
    "409": "The request contradicts the stored state.",
    "413": "The body is over the size limit (256 KiB by default).",
    "503": "Transient: retry after the Retry-After seconds.",
}


def _schema(adapter: Any, components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema: dict[str, Any] = adapter.json_schema(ref_template=REF, mode=mode)
    components.update(schema.pop("$defs", {}))
    title = schema.get("title")
    if title and "properties" in schema:  # a model: a component of its own, referenced
        components[title] = schema
        return {"$ref": REF.format(model=title)}
    return schema


def _error(description: str, components: dict[str, Any], retry: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {
            "application/json": {"schema": _schema(TypeAdapter(api.ErrorResponse), components, "serialization")}
        },
    }
    if retry:
        answer["headers"] = {"Retry-After": {"schema": {"type": "string", "pattern": "^[0-9]+$"}, "required": True}}
    return answer


def build() -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for name, (summary, request, ok, answer, callers) in OPERATIONS.items():
        responses: dict[str, Any] = {
            ok: {
                "description": "Done (or already done: every call is idempotent).",
                "content": {"application/json": {"schema": _schema(answer, components, "serialization")}},
            }
        }
        if name == "save_profile":
            responses["200"] = {"description": "The business existed: updated.", "content": responses[ok]["content"]}
        if name == "generate_post":
            responses["200"] = {
                "description": "The request_id was seen before: the stored post.",
                "content": responses[ok]["content"],
            }
            responses["502"] = _error("A content provider refused the request (recorded on the post).", components)
        if name in ("generate_post", "record_snapshot"):
            responses["429"] = _error(
                "This business sent its hourly share (posts or snapshots); retry after the Retry-After seconds.",
                components,
                retry=True,
            )
        for status, description in ERRORS.items():
            responses[status] = _error(description, components, retry=status == "503")
        paths[f"/{name}"] = {
            "post": {
                "operationId": name,
                "summary": summary,
                "security": [{caller: []} for caller in callers],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _schema(request, components, "validation")}},
                },
                "responses": dict(sorted(responses.items())),
            }
        }
    paths["/report"] = {
        "get": {
            "operationId": "report",
            "summary": "The dashboard page (operators only)",
            "security": [{"googleOidc": []}],
            "responses": {
                "200": {"description": "The dashboard.", "content": {"text/html": {"schema": {"type": "string"}}}},
                "401": _error(ERRORS["401"], components),
                "403": _error(ERRORS["403"], components),
                "503": _error(ERRORS["503"], components, retry=True),
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Social content learner",
            "version": "0.1.0",
            "description": (
                "Four HTTP functions (and the dashboard) of a contextual-bandit learner for social media posts."
                " Each function is deployed at its own URL; bodies are strict JSON (unknown fields, NaN,"
                " wrong lengths, naive datetimes and wrong types are a 400 naming the field)."
                " Generated by `python -m devtools.openapi` from shared/api.py: do not edit by hand."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [
            {
                "url": "https://{region}-{project}.cloudfunctions.net",
                "variables": {"region": {"default": "europe-west1"}, "project": {"default": "my-project"}},
            }
        ],
        "paths": paths,
        "components": {"schemas": dict(sorted(components.items())), "securitySchemes": SECURITY_SCHEMES},
    }


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a shared sub-document is written out in full: no &anchors in a spec people read


def render() -> str:
    return yaml.dump(build(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if openapi.yaml is not what would be written")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OPENAPI_PATH.read_text("utf-8") if OPENAPI_PATH.exists() else ""
        if current != text:
            print("openapi.yaml is out of date: run `python -m devtools.openapi`", file=sys.stderr)
            return 1
        return 0
    OPENAPI_PATH.write_text(text, "utf-8")
    print(f"wrote {OPENAPI_PATH.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
