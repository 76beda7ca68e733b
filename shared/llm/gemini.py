"""Gemini image generation through the ``google-genai`` SDK (its REST wire format).

The SDK's own retries are switched off (one attempt per call) so that every
provider shares one retry rule (``shared.llm.retry``); its timeout is ours.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from shared.errors import ProviderRefused, ProviderUnavailable
from shared.llm.model import GeneratedImage
from shared.llm.retry import Retryable, RetryPolicy, redact, with_retries

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_IMAGE_BYTES = 20 * 1024 * 1024


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Timeouts and connection failures of the HTTP library the SDK uses (httpx, or its successor httpx2)."""
    found: list[type[BaseException]] = [httpx.TransportError]
    try:
        import httpx2  # type: ignore[import-not-found, unused-ignore]

        found.append(httpx2.TransportError)
    except (ImportError, AttributeError):
        pass
    return tuple(found)


class GeminiImageClient:
    """``ImageModel`` over Gemini's ``models/{model}:generateContent`` with image output."""

    def __init__(
        self,
        api_key: SecretStr,
        *,
        model: str,
        base_url: str | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from google import genai
        from google.genai import types

        self.name = "gemini"
        self._key = api_key
        self._model = model
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._types = types
        self._transport_errors = _transport_errors()
        options = types.HttpOptions(
            base_url=base_url,
            timeout=int(self._policy.timeout * 1000),  # the SDK counts milliseconds
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self._client = genai.Client(api_key=api_key.get_secret_value(), http_options=options)

    def generate(self, prompt: str) -> GeneratedImage:
        return with_retries(lambda: self._attempt(prompt), self._policy, provider=self.name, sleep=self._sleep)

    def _attempt(self, prompt: str) -> GeneratedImage:
        from google.genai import errors

        secret = self._key.get_secret_value()
        config = self._types.GenerateContentConfig(response_modalities=["IMAGE"])
        try:
            response = self._client.models.generate_content(model=self._model, contents=prompt, config=config)
        except errors.APIError as exc:
            if exc.code in RETRY_STATUSES:
                raise Retryable(f"HTTP {exc.code}") from None
            reason = redact(str(exc.message), secret)
            raise ProviderRefused(f"gemini refused the request (HTTP {exc.code}): {reason}") from None
        except json.JSONDecodeError:  # the SDK parses the body as JSON before anything else
            raise ProviderUnavailable("gemini answered a body that is not JSON") from None
        except self._transport_errors as exc:
            raise Retryable(f"timeout or connection failure ({type(exc).__name__})") from None
        except (ValueError, TypeError, AttributeError, KeyError):  # JSON, but not a GenerateContentResponse
            raise ProviderUnavailable("gemini answered JSON of an unexpected shape") from None
        try:
            return self._image(response)
        except (ValueError, TypeError, AttributeError, KeyError):
            raise ProviderUnavailable("gemini answered JSON of an unexpected shape") from None

    def _image(self, response: Any) -> GeneratedImage:
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            raise ProviderRefused(f"gemini blocked the prompt: {feedback.block_reason}")
        for candidate in response.candidates or []:
            for part in (candidate.content.parts if candidate.content else None) or []:
                blob = part.inline_data
                if blob is not None and blob.data and (blob.mime_type or "").startswith("image/"):
                    if len(blob.data) > MAX_IMAGE_BYTES:
                        raise ProviderUnavailable("gemini answered an image over 20 MiB")
                    return GeneratedImage(data=blob.data, mime_type=blob.mime_type or "image/png")
        reasons = {str(c.finish_reason) for c in response.candidates or [] if c.finish_reason is not None}
        if reasons - {"FinishReason.STOP", "STOP"}:
            raise ProviderRefused(f"gemini returned no image: {', '.join(sorted(reasons))}")
        raise ProviderUnavailable("gemini answered without an image")

    def close(self) -> None:
        self._client.close()
