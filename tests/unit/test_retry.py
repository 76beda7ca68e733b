"""Bounded retries with exponential backoff (no waiting: sleep and jitter are parameters)."""

from __future__ import annotations

import pytest

from shared.errors import ProviderRefused, ProviderUnavailable
from shared.llm.retry import Retryable, RetryPolicy, backoff_delay, redact, retry_after_seconds, with_retries

POLICY = RetryPolicy(attempts=4, timeout=5, base_delay=1.0, max_delay=5.0)


@pytest.mark.parametrize(
    ("retry", "jitter", "delay"),
    [(1, 0.0, 0.5), (1, 1.0, 1.0), (2, 0.0, 1.0), (3, 0.5, 3.0), (4, 1.0, 5.0), (9, 1.0, 5.0)],
)
def test_the_delay_doubles_per_retry_within_the_jitter_band_and_is_capped(retry, jitter, delay):
    assert backoff_delay(POLICY, retry, jitter) == pytest.approx(delay)


def test_a_longer_retry_after_wins_but_never_beyond_the_cap():
    assert backoff_delay(POLICY, 1, 0.0, retry_after=3.0) == 3.0
    assert backoff_delay(POLICY, 1, 0.0, retry_after=3600.0) == 5.0
    assert backoff_delay(POLICY, 3, 1.0, retry_after=0.1) == 4.0


def test_attempts_stop_at_the_bound_and_the_last_reason_is_reported():
    calls: list[int] = []
    sleeps: list[float] = []

    def attempt() -> str:
        calls.append(1)
        raise Retryable(f"HTTP 50{len(calls)}")

    with pytest.raises(ProviderUnavailable) as err:
        with_retries(attempt, POLICY, provider="p", sleep=sleeps.append, jitter=lambda: 0.0)
    assert len(calls) == 4 and sleeps == [0.5, 1.0, 2.0]
    assert err.value.message == "p unavailable after 4 attempts: HTTP 504"


def test_success_after_a_retry_returns_the_value():
    failures = [Retryable("HTTP 429")]

    def attempt() -> str:
        if failures:
            raise failures.pop()
        return "done"

    assert with_retries(attempt, POLICY, provider="p", sleep=lambda s: None) == "done"


def test_a_refusal_is_never_retried():
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        raise ProviderRefused("no")

    with pytest.raises(ProviderRefused):
        with_retries(attempt, POLICY, provider="p", sleep=lambda s: None)
    assert calls == [1]


@pytest.mark.parametrize(("header", "seconds"), [("2", 2.0), ("0.5", 0.5), (None, None), ("soon", None), ("-1", None)])
def test_retry_after_is_read_in_seconds(header, seconds):
    assert retry_after_seconds(header) == seconds


def test_redact_removes_every_secret_and_bounds_the_text():
    assert redact("key abc and abc", "abc", "") == "key *** and ***"
    assert len(redact("x" * 1000)) == 300


KEY = 'xai-A/b+c== "d'


@pytest.mark.parametrize(
    "echo",
    [
        "?key=xai-A%2Fb%2Bc%3D%3D%20%22d",  # URL-encoded, as a query string carries it
        "?key=xai-A%2Fb%2Bc%3D%3D+%22d",  # ... with + for the space
        '{"key": "xai-A/b+c== \\"d"}',  # JSON-escaped
        "Authorization: Basic eGFpLUEvYitjPT0gImQ=",  # base64
    ],
)
def test_redact_removes_a_key_in_the_encodings_a_provider_echoes(echo):
    out = redact(f"bad request {echo} for you", KEY)
    assert "***" in out and "xai-A" not in out and "eGFpLUEvYitjPT0gImQ" not in out, out


@pytest.mark.parametrize("kwargs", [{"attempts": 0}, {"timeout": 0}, {"base_delay": 2.0, "max_delay": 1.0}])
def test_invalid_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
