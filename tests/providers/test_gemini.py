"""Gemini images (google-genai) against a loopback server speaking Gemini's REST wire format."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import SecretStr

from shared.errors import ProviderRefused, ProviderUnavailable
from shared.llm.gemini import GeminiImageClient
from shared.llm.retry import RetryPolicy
from tests.support.loopback import Reply, loopback

KEY = "gemini-SENTINEL-93ab01f4"
FAST = RetryPolicy(attempts=3, timeout=2.0, base_delay=0.01, max_delay=0.5)
PNG = b"\x89PNG\r\n\x1a\n-a-tiny-test-image"


def image_answer(data: bytes = PNG, mime: str = "image/png") -> dict[str, Any]:
    part = {"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}}
    return {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP"}]}


def client(url: str, policy: RetryPolicy = FAST, sleeps: list[float] | None = None) -> GeminiImageClient:
    waits = sleeps if sleeps is not None else []
    return GeminiImageClient(SecretStr(KEY), model="img-model", base_url=url, policy=policy, sleep=waits.append)


def test_an_image_comes_back_as_bytes_with_its_mime_type():
    with loopback([Reply(200, image_answer())]) as srv:
        image = client(srv.url).generate("a sunny cafe, caption: Hello")
    assert image.data == PNG and image.mime_type == "image/png" and image.extension == "png"
    (seen,) = srv.requests
    assert seen.method == "POST" and seen.path.endswith("/models/img-model:generateContent")
    assert seen.headers["x-goog-api-key"] == KEY
    body = seen.json()
    assert body["contents"][0]["parts"][0]["text"] == "a sunny cafe, caption: Hello"
    assert body["generationConfig"]["responseModalities"] == ["IMAGE"]


def test_a_429_is_retried_and_then_succeeds():
    sleeps: list[float] = []
    busy = {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}
    with loopback([Reply(429, busy), Reply(200, image_answer())]) as srv:
        assert client(srv.url, sleeps=sleeps).generate("p").data == PNG
    assert len(srv.requests) == 2 and len(sleeps) == 1


def test_server_errors_are_retried_a_bounded_number_of_times():
    down = {"error": {"code": 500, "message": "internal", "status": "INTERNAL"}}
    with loopback([Reply(500, down)]) as srv, pytest.raises(ProviderUnavailable) as err:
        client(srv.url).generate("p")
    assert len(srv.requests) == 3
    assert "gemini unavailable after 3 attempts: HTTP 500" in err.value.message


def test_a_malformed_json_body_is_a_clear_error_and_is_not_retried():
    with loopback([Reply(200, '{"candidates": [')]) as srv, pytest.raises(ProviderUnavailable) as err:
        client(srv.url).generate("p")
    assert len(srv.requests) == 1
    assert "not JSON" in err.value.message


@pytest.mark.parametrize(
    "body",
    [
        '{"candidates": 5}',
        '{"candidates": [{"content": "x"}]}',
        '{"promptFeedback": 3}',
        '{"candidates": [{"content": {"parts": [{"inlineData": {"data": "@@@", "mimeType": "image/png"}}]}}]}',
    ],
)
def test_json_of_the_wrong_shape_is_unavailable_not_a_crash(body: str):
    # Before: {"candidates": 5} raised a TypeError from the SDK, which the function answered 500.
    with loopback([Reply(200, body)]) as srv, pytest.raises(ProviderUnavailable) as err:
        client(srv.url).generate("p")
    assert len(srv.requests) == 1
    assert "unexpected shape" in err.value.message


def test_a_slow_provider_times_out_on_every_attempt():
    policy = RetryPolicy(attempts=2, timeout=0.2, base_delay=0.0, max_delay=0.0)
    with loopback([Reply(200, image_answer(), delay=1.5)]) as srv, pytest.raises(ProviderUnavailable) as err:
        client(srv.url, policy).generate("p")
    assert len(srv.requests) == 2
    assert "timeout" in err.value.message.lower()


def test_a_refusal_is_permanent_and_never_echoes_the_key():
    bad = {"error": {"code": 400, "message": f"API key not valid: {KEY}", "status": "INVALID_ARGUMENT"}}
    with loopback([Reply(400, bad)]) as srv, pytest.raises(ProviderRefused) as err:
        client(srv.url).generate("p")
    assert len(srv.requests) == 1
    assert "gemini refused the request (HTTP 400)" in err.value.message
    assert KEY not in err.value.message and "***" in err.value.message


def test_a_blocked_prompt_or_a_safety_stop_is_a_refusal():
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}}
    with loopback([Reply(200, blocked)]) as srv, pytest.raises(ProviderRefused) as err:
        client(srv.url).generate("p")
    assert "SAFETY" in err.value.message
    stopped = {"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "IMAGE_SAFETY"}]}
    with loopback([Reply(200, stopped)]) as srv, pytest.raises(ProviderRefused) as err:
        client(srv.url).generate("p")
    assert "IMAGE_SAFETY" in err.value.message


def test_an_answer_with_text_but_no_image_is_unavailable_not_refused():
    text_only = {"candidates": [{"content": {"role": "model", "parts": [{"text": "sorry"}]}, "finishReason": "STOP"}]}
    with loopback([Reply(200, text_only)]) as srv, pytest.raises(ProviderUnavailable):
        client(srv.url).generate("p")
