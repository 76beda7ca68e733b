"""One small error hierarchy: permanent problems (4xx) and transient ones (503)."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error an entry point maps to an HTTP answer."""

    status = 500
    code = "internal"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class PermanentError(AppError):
    """Retrying the same request cannot succeed."""

    status = 400
    code = "invalid_request"


class NotFound(PermanentError):
    status = 404
    code = "not_found"


class Conflict(PermanentError):
    """The request contradicts the stored state (e.g. a second, different publish)."""

    status = 409
    code = "conflict"


class RateLimited(AppError):
    """One business sent more than its hourly share (shared/core/rate_limits.py): 429 with
    Retry-After; the same request succeeds once the next window opens."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, field: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class TransientError(AppError):
    """The same request may succeed later (database unavailable, lock timeout)."""

    status = 503
    code = "unavailable"


class ProviderRefused(AppError):
    """An LLM or storage provider refused the request (bad key, blocked content, bad model).

    Not the caller's fault and not fixed by waiting: 502, with a message that
    names the provider and its reason (never a key).
    """

    status = 502
    code = "provider_refused"


class ProviderUnavailable(TransientError):
    """A provider timed out, kept answering 429/5xx, or answered something unreadable."""

    code = "provider_unavailable"
