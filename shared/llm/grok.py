"""Grok through xAI's API, in the OpenAI-compatible chat-completions wire format."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from shared.errors import ProviderRefused, ProviderUnavailable
from shared.llm.retry import Retryable, RetryPolicy, redact, retry_after_seconds, with_retries

DEFAULT_BASE_URL = "https://api.x.ai/v1"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_ANSWER_CHARS = 20_000


class _Wire(BaseModel):
    # Strict types; unknown fields are ignored, since providers add fields over time.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Message(_Wire):
    content: str | None = None
    refusal: str | None = None


class _Choice(_Wire):
    message: _Message
    finish_reason: str | None = None


class ChatCompletion(_Wire):
    choices: Annotated[list[_Choice], Field(min_length=1)]


class GrokClient:
    """``TextModel`` over xAI's ``POST {base_url}/chat/completions``."""

    def __init__(
        self,
        api_key: SecretStr,
        *,
        model: str,
        base_url: str = DEFAULT_BASE_URL,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = "xai"
        self._key = api_key
        self._model = model
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=self._policy.timeout, transport=transport, follow_redirects=False
        )

    def complete(self, prompt: str, *, system: str | None = None, json_object: bool = False) -> str:
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        body: dict[str, Any] = {"model": self._model, "messages": messages}
        if json_object:
            body["response_format"] = {"type": "json_object"}
        return with_retries(lambda: self._attempt(body), self._policy, provider=self.name, sleep=self._sleep)

    def _attempt(self, body: dict[str, Any]) -> str:
        secret = self._key.get_secret_value()
        try:
            resp = self._http.post("/chat/completions", json=body, headers={"Authorization": f"Bearer {secret}"})
        except httpx.TimeoutException as exc:
            raise Retryable(f"timeout ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise Retryable(f"connection failed ({type(exc).__name__})") from None
        if resp.status_code in RETRY_STATUSES:
            raise Retryable(f"HTTP {resp.status_code}", retry_after_seconds(resp.headers.get("retry-after")))
        if resp.status_code >= 400:
            raise ProviderRefused(f"xai refused the request (HTTP {resp.status_code}): {_reason(resp, secret)}")
        try:
            answer = ChatCompletion.model_validate_json(resp.content)
        except ValidationError:
            raise ProviderUnavailable("xai answered a body that is not a chat completion") from None
        choice = answer.choices[0]
        if choice.message.refusal or choice.finish_reason == "content_filter":
            reason = redact(choice.message.refusal or "content filter", secret)
            raise ProviderRefused(f"xai refused to answer: {reason}")
        content = (choice.message.content or "").strip()
        if not content:
            raise ProviderUnavailable("xai answered an empty message")
        return content[:MAX_ANSWER_CHARS]

    def close(self) -> None:
        self._http.close()


def _reason(resp: httpx.Response, secret: str) -> str:
    """The provider's error message (OpenAI shape ``{"error": {"message"}}`` or a string), redacted."""
    try:
        data = resp.json()
    except ValueError:
        return redact(resp.text or "no reason given", secret)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return redact(str(error or data), secret)
