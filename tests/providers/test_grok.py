"""Grok (xAI chat completions) against a loopback server speaking the same wire format."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from shared.errors import ProviderRefused, ProviderUnavailable
from shared.llm.grok import GrokClient
from shared.llm.retry import RetryPolicy
from tests.support.loopback import Reply, loopback

KEY = "xai-SENTINEL-7c1d55e0b2"
FAST = RetryPolicy(attempts=3, timeout=2.0, base_delay=0.01, max_delay=0.5)


def completion(content: str | None, *, refusal: str | None = None, finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "grok-4",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def client(url: str, policy: RetryPolicy = FAST, sleeps: list[float] | None = None) -> GrokClient:
    waits = sleeps if sleeps is not None else []
    return GrokClient(SecretStr(KEY), model="grok-4", base_url=url + "/v1", policy=policy, sleep=waits.append)


def test_a_completion_returns_the_message_and_sends_the_openai_wire_format():
    with loopback([Reply(200, completion('{"caption_prompt": "a", "image_prompt": "b"}'))]) as srv:
        answer = client(srv.url).complete("the prompt", system="be brief", json_object=True)
    assert answer == '{"caption_prompt": "a", "image_prompt": "b"}'
    (seen,) = srv.requests
    assert (seen.method, seen.path) == ("POST", "/v1/chat/completions")
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    body = seen.json()
    assert body["model"] == "grok-4"
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "the prompt"}]
    assert body["response_format"] == {"type": "json_object"}


def test_plain_text_requests_ask_for_no_json_format():
    with loopback([Reply(200, completion("  A caption.  "))]) as srv:
        assert client(srv.url).complete("write") == "A caption."
    assert "response_format" not in srv.requests[0].json()


def test_a_429_is_retried_after_the_providers_retry_after_and_then_succeeds():
    sleeps: list[float] = []
    replies = [Reply(429, {"error": {"message": "rate limited"}}, {"retry-after": "0.3"}), Reply(200, completion("ok"))]
    with loopback(replies) as srv:
        assert client(srv.url, sleeps=sleeps).complete("p") == "ok"
    assert len(srv.requests) == 2
    assert sleeps == [0.3]  # Retry-After (under the cap) beats the shorter exponential wait


def test_5xx_answers_are_retried_a_bounded_number_of_times_then_reported_unavailable():
    sleeps: list[float] = []
    with loopback([Reply(503, "upstream down")]) as srv, pytest.raises(ProviderUnavailable) as err:
        client(srv.url, sleeps=sleeps).complete("p")
    assert len(srv.requests) == 3
    assert len(sleeps) == 2 and sleeps[0] < sleeps[1] + FAST.base_delay  # backing off, not hammering
    assert "xai unavailable after 3 attempts: HTTP 503" in err.value.message


def test_a_malformed_json_body_is_a_clear_error_and_is_not_retried():
    with loopback([Reply(200, '{"choices": [ {"message": ')]) as srv, pytest.raises(ProviderUnavailable) as err:
        client(srv.url).complete("p")
    assert len(srv.requests) == 1
    assert "not a chat completion" in err.value.message


def test_a_body_without_choices_is_malformed_too():
    with loopback([Reply(200, {"choices": []})]) as srv, pytest.raises(ProviderUnavailable):
        client(srv.url).complete("p")


def test_a_provider_that_does_not_answer_in_time_times_out_on_every_attempt():
    policy = RetryPolicy(attempts=2, timeout=0.2, base_delay=0.0, max_delay=0.0)
    with loopback([Reply(200, completion("late"), delay=1.5)]) as srv, pytest.raises(ProviderUnavailable) as err:
        client(srv.url, policy).complete("p")
    assert len(srv.requests) == 2
    assert "timeout" in err.value.message


def test_a_refusal_names_the_status_and_reason_and_never_echoes_the_key():
    body = {"error": {"message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error"}}
    with loopback([Reply(401, body)]) as srv, pytest.raises(ProviderRefused) as err:
        client(srv.url).complete("p")
    assert len(srv.requests) == 1  # a refusal is not retried
    assert err.value.message == "xai refused the request (HTTP 401): Incorrect API key provided: ***"
    assert KEY not in str(err.value)


def test_a_content_refusal_in_a_200_answer_is_a_refusal():
    with (
        loopback([Reply(200, completion(None, refusal="I can't help with that."))]) as srv,
        pytest.raises(ProviderRefused) as err,
    ):
        client(srv.url).complete("p")
    assert "I can't help with that." in err.value.message
    with loopback([Reply(200, completion("partial", finish="content_filter"))]) as srv, pytest.raises(ProviderRefused):
        client(srv.url).complete("p")
