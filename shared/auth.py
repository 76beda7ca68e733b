"""Who is calling (docs/spec.md §7): Supabase user JWTs, Google OIDC tokens, the webhook secret.

Tokens are verified against the issuer's JWKS (ES256/RS256 only, so
``alg=none`` and HS256 confusion are refused), with ``aud``, ``iss`` and
``exp`` checked. The ``X-CloudTasks-*`` and ``X-CloudScheduler-*`` headers
are never evidence of anything: anyone can send them.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from shared.errors import PermanentError

CallerKind = Literal["user", "service", "webhook", "local"]
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
WEBHOOK_HEADER = "X-Webhook-Secret"
_LEEWAY_SECONDS = 30


class Unauthorized(PermanentError):
    """No valid credentials (401)."""

    status = 401
    code = "unauthorized"


class Forbidden(PermanentError):
    """Valid credentials, but not for this (403)."""

    status = 403
    code = "forbidden"


@dataclass(frozen=True)
class Caller:
    kind: CallerKind
    subject: str  # user id, service-account email, "webhook" or "local"


@dataclass(frozen=True)
class AuthConfig:
    enforce: bool = True
    supabase_jwks_url: str | None = None
    supabase_issuer: str | None = None
    supabase_audience: str = "authenticated"
    google_jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    oidc_audiences: tuple[str, ...] = ()  # the function's own URL (Cloud Run accepts no other)
    oidc_emails: tuple[str, ...] = ()
    webhook_secrets: tuple[str, ...] = ()  # current first; the previous one during rotation


class Authenticator:
    """Verifies the credentials of one request. JWKS are fetched lazily and cached."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self._jwks: dict[str, jwt.PyJWKClient] = {}

    def _client(self, url: str) -> jwt.PyJWKClient:
        if url not in self._jwks:
            self._jwks[url] = jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)
        return self._jwks[url]

    def authenticate(self, header: Callable[[str], str | None], allowed: Sequence[CallerKind]) -> Caller:
        """``header`` looks a request header up by name (case-insensitively)."""
        if not self.config.enforce:
            return Caller("local", "local")
        secret = header(WEBHOOK_HEADER)
        if "webhook" in allowed and secret is not None:
            return self._webhook(secret)
        auth = header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("missing bearer token", field="Authorization")
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed token", field="Authorization") from exc
        if issuer in GOOGLE_ISSUERS:
            caller = self._google(token)
        elif self.config.supabase_issuer is not None and issuer == self.config.supabase_issuer:
            caller = self._supabase(token)
        else:
            raise Unauthorized("unknown token issuer", field="Authorization")
        if caller.kind not in allowed:
            raise Forbidden(f"{caller.kind} callers may not call this function", field="Authorization")
        return caller

    def _verify(
        self, token: str, url: str | None, audience: str | Sequence[str], issuer: str | Sequence[str]
    ) -> dict[str, Any]:
        if url is None or not audience:
            raise Unauthorized("this kind of caller is not configured", field="Authorization")
        try:
            key = self._client(url).get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["ES256", "RS256"],
                audience=audience,
                issuer=issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            # The reason goes to the caller; the token itself never does.
            raise Unauthorized(f"invalid token: {type(exc).__name__}", field="Authorization") from exc
        return claims

    def _supabase(self, token: str) -> Caller:
        c = self.config
        claims = self._verify(token, c.supabase_jwks_url, c.supabase_audience, c.supabase_issuer or "")
        if claims.get("role") != "authenticated":
            raise Forbidden("only signed-in users may call this", field="Authorization")
        return Caller("user", str(claims["sub"]))

    def _google(self, token: str) -> Caller:
        c = self.config
        claims = self._verify(token, c.google_jwks_url, list(c.oidc_audiences), GOOGLE_ISSUERS)
        email = claims.get("email")
        if claims.get("email_verified") is not True or email not in c.oidc_emails:
            raise Forbidden("service account not allowed", field="Authorization")
        return Caller("service", str(email))

    def _webhook(self, secret: str) -> Caller:
        given = secret.encode()
        # Compare against every accepted secret, always, so timing says nothing.
        matches = [hmac.compare_digest(given, s.encode()) for s in self.config.webhook_secrets]
        if not any(matches):
            raise Unauthorized("invalid webhook secret", field=WEBHOOK_HEADER)
        return Caller("webhook", "webhook")
