"""generate_post with provider keys pointed at loopback servers: the real provider code
paths end to end (Grok for prompts and caption, Gemini for the image, Supabase Storage
for the file), the transaction rules around the calls, redelivery, refusal, and secrets.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from shared.bootstrap import build_content
from shared.config import Settings
from shared.core.prompts import CAPTION_PLACEHOLDER
from tests.support.functions import fetch_one
from tests.support.loopback import Loopback, Reply, Seen, loopback

XAI_KEY = "xai-SENTINEL-e2e-51b7d2"
GEMINI_KEY = "gemini-SENTINEL-e2e-0c44aa"
SUPABASE_KEY = "sb_secret_SENTINEL_e2e_9d13"
SENTINELS = (XAI_KEY, GEMINI_KEY, SUPABASE_KEY)
PNG = b"\x89PNG\r\n\x1a\n-loopback-image"
PROMPTS = {
    "caption_prompt": "Write a crisp LinkedIn caption about dashboards.",
    "image_prompt": "Navy chart, {{CAPTION}}",
}


def chat(content: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}


def image() -> dict[str, Any]:
    part = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}}
    return {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP"}]}


GROK_OK = [Reply(200, chat(json.dumps(PROMPTS))), Reply(200, chat("Dashboards, minus the dread."))]


@contextmanager
def providers(runtime, xai: list[Reply], gemini: list[Reply], on_request=None) -> Iterator[tuple[Loopback, ...]]:
    """Loopback xAI, Gemini and Supabase Storage, and the runtime's content writer built from Settings."""
    storage_ok = [Reply(200, {"Key": "post-images/x.png", "Id": "1"})]
    with (
        loopback(xai, on_request) as x,
        loopback(gemini, on_request) as g,
        loopback(storage_ok) as s,
    ):
        settings = Settings(
            database_url=runtime.db.url,
            xai_api_key=SecretStr(XAI_KEY),
            xai_base_url=x.url + "/v1",
            gemini_api_key=SecretStr(GEMINI_KEY),
            gemini_base_url=g.url,
            supabase_url=s.url,
            supabase_service_role_key=SecretStr(SUPABASE_KEY),
            llm_timeout_seconds=2,
            llm_max_attempts=2,
            llm_backoff_seconds=0.01,
            llm_backoff_max_seconds=0.05,
        )
        runtime.content = build_content(settings)
        try:
            yield x, g, s
        finally:
            runtime.content = None


def post(functions, business_id, request_id: str = "content-1") -> tuple[int, Any]:
    body = {"business_id": str(business_id), "request_id": request_id, "platform": "linkedin", "topic": "dashboards"}
    status, answer = functions.post("generate_post", body)
    return status, answer


def test_keys_pointed_at_loopback_servers_run_grok_gemini_and_storage_end_to_end(runtime, functions, make_profile):
    business = make_profile()
    with providers(runtime, GROK_OK, [Reply(200, image())]) as (x, g, s):
        status, answer = post(functions, business)
    assert status == 201, answer
    assert answer["content_status"] == "done" and answer["content_source"] == "xai+gemini"
    assert answer["caption"] == "Dashboards, minus the dread."
    assert answer["caption_prompt"] == PROMPTS["caption_prompt"]
    # The image prompt Gemini got is the LLM's, with the placeholder replaced by the caption.
    assert answer["image_prompt"] == "Navy chart, Dashboards, minus the dread."
    assert g.requests[0].json()["contents"][0]["parts"][0]["text"] == answer["image_prompt"]
    assert answer["image_url"] == f"{s.url}/storage/v1/object/public/post-images/{answer['post_id']}.png"
    assert PNG in s.requests[0].body
    # Grok was asked the stored generator prompt (JSON mode), then the caption prompt it returned.
    first, second = (r.json() for r in x.requests)
    assert first["messages"][-1]["content"] == answer["generator_prompt"]
    assert first["response_format"] == {"type": "json_object"}
    assert second["messages"][-1]["content"] == PROMPTS["caption_prompt"]
    assert "Acme Analytics" in answer["generator_prompt"] and CAPTION_PLACEHOLDER in answer["generator_prompt"]
    stored = fetch_one(
        runtime, "select caption, image_url, content_status from posts where post_id = %s", answer["post_id"]
    )
    assert stored == (answer["caption"], answer["image_url"], "done")


def test_no_transaction_is_open_while_a_provider_is_called_and_the_decision_is_already_committed(
    runtime, functions, make_profile
):
    business = make_profile()
    observed: list[tuple[int, str | None, int]] = []

    def inspect(_: Seen) -> None:
        # From another connection, while the provider "thinks": our transactions and the post.
        with psycopg.connect(runtime.db.url, autocommit=True) as conn:
            open_tx = conn.execute(  # type: ignore[index]
                "select count(*) from pg_stat_activity where datname = current_database()"
                " and pid <> pg_backend_pid() and xact_start is not null"
            ).fetchone()[0]
            row = conn.execute("select content_status from posts where request_id = 'content-1'").fetchone()
            decisions = conn.execute(  # type: ignore[index]
                "select count(*) from decisions d join posts p using (post_id) where p.request_id = 'content-1'"
            ).fetchone()[0]
        observed.append((open_tx, row[0] if row else None, decisions))

    with providers(runtime, GROK_OK, [Reply(200, image())], on_request=inspect):
        status, _ = post(functions, business)
    assert status == 201
    assert len(observed) == 3  # two Grok calls, one Gemini call
    assert all(o == (0, "pending", 1) for o in observed), observed


def test_a_redelivered_request_returns_the_stored_content_without_calling_the_providers_again(
    runtime, functions, make_profile
):
    business = make_profile()
    with providers(runtime, GROK_OK, [Reply(200, image())]) as (x, g, _):
        first = post(functions, business)
        again = post(functions, business)
    assert (first[0], again[0]) == (201, 200)
    assert again[1]["caption"] == first[1]["caption"] and again[1]["decision_id"] == first[1]["decision_id"]
    assert (len(x.requests), len(g.requests)) == (2, 1)


def test_a_provider_outage_answers_503_keeps_the_decision_and_a_redelivery_completes_it(
    runtime, functions, make_profile
):
    business = make_profile()
    with providers(runtime, [Reply(503, "down")], [Reply(200, image())]):
        status, answer = post(functions, business)
    assert status == 503 and answer["error"]["code"] == "provider_unavailable"
    pending = fetch_one(runtime, "select post_id, content_status, caption from posts where request_id = 'content-1'")
    assert pending[1] == "pending" and pending[2]  # the offline caption stands in meanwhile
    with providers(runtime, GROK_OK, [Reply(200, image())]):
        status, answer = post(functions, business)
    assert status == 200 and answer["content_status"] == "done"
    assert answer["post_id"] == str(pending[0]) and answer["caption"] == "Dashboards, minus the dread."


def test_a_provider_refusal_is_a_clear_502_recorded_on_the_post(runtime, functions, make_profile):
    business = make_profile()
    refused = [Reply(403, {"error": {"message": "model not allowed for this team"}})]
    with providers(runtime, refused, [Reply(200, image())]):
        status, answer = post(functions, business)
    assert status == 502
    assert answer["error"]["code"] == "provider_refused"
    assert answer["error"]["message"] == "xai refused the request (HTTP 403): model not allowed for this team"
    row = fetch_one(runtime, "select content_status, content_error from posts where request_id = 'content-1'")
    assert row == ("failed", answer["error"]["message"])


def test_llm_prompts_that_are_not_json_are_a_503_and_nothing_is_half_stored(runtime, functions, make_profile):
    business = make_profile()
    with providers(runtime, [Reply(200, chat("Sure! Here are your prompts: caption..."))], [Reply(200, image())]):
        status, answer = post(functions, business)
    assert status == 503 and answer["error"]["code"] == "provider_unavailable"
    row = fetch_one(runtime, "select content_status, image_url from posts where request_id = 'content-1'")
    assert row == ("pending", None)


@pytest.mark.parametrize("xai_reply", [GROK_OK, [Reply(401, {"error": {"message": f"bad key {XAI_KEY}"}})]])
def test_provider_keys_never_appear_in_logs_or_responses(runtime, functions, make_profile, capfd, xai_reply):
    business = make_profile()
    with providers(runtime, xai_reply, [Reply(429, "slow"), Reply(200, image())]):
        status, answer = post(functions, business)
        settings_repr = repr(Settings(xai_api_key=SecretStr(XAI_KEY)))
    out, err = capfd.readouterr()
    seen = json.dumps(answer) + out + err + settings_repr
    assert status in (201, 502)
    for secret in SENTINELS:
        assert secret not in seen
    assert "**********" in settings_repr  # the key is masked, not dropped silently


def test_without_keys_there_is_no_content_writer_and_the_offline_content_is_final(runtime, functions, make_profile):
    assert build_content(Settings(database_url=runtime.db.url)) is None
    status, answer = post(functions, make_profile())
    assert status == 201
    assert (answer["content_status"], answer["content_source"], answer["image_url"]) == ("done", "offline", None)
    assert CAPTION_PLACEHOLDER not in answer["image_prompt"] and answer["caption"] in answer["image_prompt"]


def test_a_gemini_key_alone_draws_the_offline_caption_into_a_local_folder(runtime, functions, make_profile, tmp_path):
    with loopback([Reply(200, image())]) as g:
        runtime.content = build_content(
            Settings(
                database_url=runtime.db.url,
                gemini_api_key=SecretStr(GEMINI_KEY),
                gemini_base_url=g.url,
                image_dir=tmp_path / "images",
            )
        )
        try:
            status, answer = post(functions, make_profile())
        finally:
            runtime.content = None
    assert status == 201 and answer["content_source"] == "offline+gemini"
    assert answer["caption"].endswith("Acme Analytics has you covered.")
    assert g.requests[0].json()["contents"][0]["parts"][0]["text"] == answer["image_prompt"]
    assert answer["image_url"] == (tmp_path / "images" / f"{answer['post_id']}.png").resolve().as_uri()
    assert (tmp_path / "images" / f"{answer['post_id']}.png").read_bytes() == PNG
