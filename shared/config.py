"""Settings, read from the environment once, lazily (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth import AuthConfig
from shared.core.policy import Learner, PolicyParams
from shared.core.rate_limits import RateLimits
from shared.core.reward import RewardConfig
from shared.llm.retry import RetryPolicy

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def parse_action(text: str) -> tuple[tuple[str, str], ...]:
    """ "DIM=value,DIM=value" → ((DIM, value), ...); empty → ()."""
    pairs = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        dim, sep, value = part.partition("=")
        if not sep or not dim.strip() or not value.strip():
            raise ValueError(f"holdback action: {part!r} is not DIMENSION=value")
        pairs.append((dim.strip(), value.strip()))
    return tuple(pairs)


class Settings(BaseSettings):
    """Every knob of the product. Secrets are SecretStr: masked in repr, never logged or returned."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # Unset: start (or reuse) the embedded Postgres under embedded_pg_dir.
    database_url: str | None = None
    embedded_pg_dir: Path = PROJECT_ROOT / ".data" / "postgres"
    migrations_dir: Path = PROJECT_ROOT / "infra" / "supabase" / "migrations"
    auto_migrate: bool | None = None  # default: only on the embedded server
    db_pool_max: int = Field(default=4, ge=1, le=64)
    # libpq "options", e.g. "-c synchronous_commit=off" for a throwaway simulation database.
    db_options: str | None = None
    action_space_path: Path | None = None
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)

    # Which learner chooses and learns (docs/learning.md): "bandit" (the reward model, the
    # default chosen on the held-out worlds) or "gradient" (the seed's softmax policy gradient).
    # The policy's hyperparameters: declared, with their defaults and their checks, once, in
    # PolicyParams (shared/core/policy.py); these fields only name them for the environment,
    # and _policy_params_are_valid runs PolicyParams' checks on them.
    policy_learner: Learner = PolicyParams.learner
    policy_tau: float = PolicyParams.tau
    policy_epsilon: float = PolicyParams.epsilon
    policy_alpha_h: float = PolicyParams.alpha_h
    policy_alpha_theta: float = PolicyParams.alpha_theta
    policy_beta: float = PolicyParams.beta
    # ε schedule (docs/lifecycle.md): 0 keeps ε constant; > 0 halves it every so many learning steps.
    policy_epsilon_half_life: float = PolicyParams.epsilon_half_life
    policy_epsilon_min: float = PolicyParams.epsilon_min
    # Holdback: this share of posts takes the fixed baseline action (never learned from).
    policy_holdback_share: float = PolicyParams.holdback_share
    # "HOOK_TYPE=question,TONE=casual": the baseline action; unnamed dimensions take their first value.
    policy_holdback_action: str = ""
    # A snapshot of the policy every so many versions, taken by update_policy (0: none).
    policy_snapshot_every: int = Field(default=0, ge=0)
    # The scheduled sweep fits and activates the context normaliser once there are this many
    # decisions and none was ever fitted (docs/decisions.md item 48; 0: never, fit by hand).
    policy_normaliser_fit_after: int = Field(default=300, ge=0)
    # The sweep recomputes what the dashboard reads precomputed (the off-policy evaluation once
    # the policy moved on, each cell's typical context) when it is this old (docs/dashboard.md).
    dashboard_every_hours: float = Field(default=6.0, ge=0, allow_inf_nan=False)

    # Per business and hour (docs/reliability.md, "Tenants"); 0 turns a limit off.
    rate_posts_per_hour: int = Field(default=RateLimits.posts_per_hour, ge=0)
    rate_snapshots_per_hour: int = Field(default=RateLimits.snapshots_per_hour, ge=0)

    reward_window_hours: int = Field(default=24, ge=6)
    reward_max_wait_hours: float = Field(default=48.0, ge=6, allow_inf_nan=False)
    reward_default: float | None = Field(default=None, ge=-1, le=1)

    # Auth (docs/spec.md §7). "disabled" is for local development only and must be asked for.
    auth_mode: Literal["enforce", "disabled"] = "enforce"
    supabase_jwks_url: str | None = None  # https://<project>.supabase.co/auth/v1/.well-known/jwks.json
    supabase_jwt_issuer: str | None = None  # https://<project>.supabase.co/auth/v1
    supabase_jwt_audience: str = "authenticated"
    google_jwks_url: str = "https://www.googleapis.com/oauth2/v3/certs"
    # The audience a service token must carry: this function's own URL, the one Cloud Run's front
    # end accepts (terraform/functions.tf sets it per function). Comma-separated: several accepted.
    oidc_audience: str | None = None
    oidc_service_accounts: str = ""  # comma-separated emails allowed to call as a service
    webhook_secret: SecretStr | None = None
    webhook_secret_previous: SecretStr | None = None  # still accepted while a rotation is under way

    # Tasks: "local" keeps them in the outbox for the local runner; "cloud_tasks" relays them.
    task_dispatch: Literal["local", "cloud_tasks"] = "local"
    gcp_project: str | None = None
    gcp_location: str | None = None
    queue_compute_reward: str = "compute-reward"
    queue_update_policy: str = "update-policy"
    url_compute_reward: str | None = None  # HTTPS URL of the compute_reward function
    url_update_policy: str | None = None
    tasks_service_account: str | None = None  # the identity Cloud Tasks puts in its OIDC tokens
    cloud_tasks_emulator: str | None = None  # host:port of a local emulator (insecure gRPC)
    # The queues' retry_config.max_attempts (terraform/tasks.tf): a task rejected at
    # this attempt is never retried again, so the rejection leaves a dead letter.
    tasks_max_attempts: int = Field(default=10, ge=1, le=1000)

    @field_validator(
        "database_url",
        "webhook_secret",
        "webhook_secret_previous",
        "xai_api_key",
        "gemini_api_key",
        "supabase_service_role_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """A mounted secret with an empty value means "not configured", not an empty key."""
        return None if value == "" else value

    def auth_config(self) -> AuthConfig:
        secrets = tuple(s.get_secret_value() for s in (self.webhook_secret, self.webhook_secret_previous) if s)
        return AuthConfig(
            enforce=self.auth_mode == "enforce",
            supabase_jwks_url=self.supabase_jwks_url,
            supabase_issuer=self.supabase_jwt_issuer,
            supabase_audience=self.supabase_jwt_audience,
            google_jwks_url=self.google_jwks_url,
            oidc_audiences=tuple(a.strip() for a in (self.oidc_audience or "").split(",") if a.strip()),
            oidc_emails=tuple(e.strip() for e in self.oidc_service_accounts.split(",") if e.strip()),
            webhook_secrets=secrets,
        )

    # Text embedder for profiles and topics without a given vector: the ONNX
    # all-MiniLM-L6-v2 ("minilm"), none, or "auto" (minilm when it is installed).
    embedder: Literal["auto", "minilm", "none"] = "auto"

    # LLM providers (docs/spec.md §8). No key: the deterministic offline generator.
    xai_api_key: SecretStr | None = None
    xai_base_url: str = "https://api.x.ai/v1"
    xai_model: str = "grok-4"
    gemini_api_key: SecretStr | None = None
    gemini_base_url: str | None = None  # None: the SDK's default endpoint
    gemini_image_model: str = "gemini-2.5-flash-image"
    llm_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    llm_backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    llm_backoff_max_seconds: float = Field(default=20.0, ge=0, le=300)

    # Generated images: Supabase Storage when both are set, else image_dir.
    supabase_url: str | None = None
    supabase_service_role_key: SecretStr | None = None
    supabase_bucket: str = Field(default="post-images", min_length=3, max_length=63)
    image_dir: Path = PROJECT_ROOT / "out" / "images"

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.llm_max_attempts,
            timeout=self.llm_timeout_seconds,
            base_delay=self.llm_backoff_seconds,
            max_delay=max(self.llm_backoff_max_seconds, self.llm_backoff_seconds),
        )

    @model_validator(mode="after")
    def _policy_params_are_valid(self) -> Settings:
        try:
            self.policy_params()
        except ValueError as exc:
            raise ValueError(f"the policy's settings (POLICY_*): {exc}") from None
        return self

    def policy_params(self) -> PolicyParams:
        return PolicyParams(
            tau=self.policy_tau,
            epsilon=self.policy_epsilon,
            alpha_h=self.policy_alpha_h,
            alpha_theta=self.policy_alpha_theta,
            beta=self.policy_beta,
            epsilon_half_life=self.policy_epsilon_half_life,
            epsilon_min=self.policy_epsilon_min,
            holdback_share=self.policy_holdback_share,
            holdback_action=parse_action(self.policy_holdback_action),
            learner=self.policy_learner,
        )

    def rate_limits(self) -> RateLimits:
        return RateLimits(posts_per_hour=self.rate_posts_per_hour, snapshots_per_hour=self.rate_snapshots_per_hour)

    def reward_config(self) -> RewardConfig:
        return RewardConfig(
            window_hours=self.reward_window_hours,
            max_wait_hours=self.reward_max_wait_hours,
            default_reward=self.reward_default,
        )
