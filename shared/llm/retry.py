"""Timeouts and bounded retries with exponential backoff, shared by every provider.

The decision of what to retry is the provider's; this module only counts
attempts and waits. ``sleep`` and the jitter source are parameters, so the
schedule is testable without waiting.
"""

from __future__ import annotations

import base64
import json
import random
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from shared.errors import ProviderUnavailable
from shared.logs import log

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """attempts: total tries (1 = no retry); timeout: seconds per attempt; delays in seconds."""

    attempts: int = 3
    timeout: float = 30.0
    base_delay: float = 0.5
    max_delay: float = 8.0

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= 10:
            raise ValueError(f"attempts must be in 1..10, got {self.attempts}")
        if not 0 < self.timeout <= 600:
            raise ValueError(f"timeout must be in (0, 600] seconds, got {self.timeout}")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")


class Retryable(Exception):
    """Raised by an attempt that may succeed if tried again (429, 5xx, timeout)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def backoff_delay(policy: RetryPolicy, retry: int, jitter: float, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``retry`` (1-based).

    Full jitter on an exponential ceiling: ``jitter`` ∈ [0, 1) scales
    ``base · 2^(retry-1)`` capped at max_delay, so many instances that were
    throttled together do not come back together. A provider's Retry-After
    wins when it is longer, still capped at max_delay (we never wait longer).
    """
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** (retry - 1))
    delay = ceiling * (0.5 + 0.5 * jitter)  # at least half the ceiling: a real back-off
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_delay))
    return delay


def with_retries(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    provider: str,
    sleep: Callable[[float], None],
    jitter: Callable[[], float] = random.random,
) -> T:
    """Run ``attempt`` until it returns, raises a non-Retryable error, or attempts run out."""
    last = "no attempt"
    for n in range(1, policy.attempts + 1):
        try:
            return attempt()
        except Retryable as exc:
            last = exc.reason
            if n == policy.attempts:
                break
            delay = backoff_delay(policy, n, jitter(), exc.retry_after)
            log("WARNING", "provider retry", provider=provider, attempt=n, reason=exc.reason, wait_s=round(delay, 3))
            sleep(delay)
    raise ProviderUnavailable(f"{provider} unavailable after {policy.attempts} attempts: {last}")


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header in seconds (the HTTP-date form is ignored: the backoff applies)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def redact(text: str, *secrets: str) -> str:
    """``text`` with every secret replaced, trimmed: provider messages may echo a key back, and
    not always as it was sent (URL-encoded in a query string, JSON-escaped, base64 in a header)."""
    for secret in secrets:
        if not secret:
            continue
        raw = secret.encode()
        forms = {
            secret,
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
            json.dumps(secret)[1:-1],
            base64.b64encode(raw).decode().rstrip("="),
            base64.urlsafe_b64encode(raw).decode().rstrip("="),
        }
        for form in sorted(forms, key=len, reverse=True):  # the longest first: no half-replaced key
            text = text.replace(form, "***")
    return text[:300]
