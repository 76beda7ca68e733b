"""Settings, read from the environment once, lazily (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.llm.retry import RetryPolicy
from shared.policy import PolicyParams
from shared.reward import RewardConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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

    policy_tau: float = Field(default=PolicyParams.tau, gt=0, allow_inf_nan=False)
    policy_epsilon: float = Field(default=PolicyParams.epsilon, ge=0, le=1)
    policy_alpha_h: float = Field(default=PolicyParams.alpha_h, ge=0, allow_inf_nan=False)
    policy_alpha_theta: float = Field(default=PolicyParams.alpha_theta, ge=0, allow_inf_nan=False)
    policy_beta: float = Field(default=PolicyParams.beta, gt=0, le=1)

    reward_window_hours: int = Field(default=24, ge=6)
    reward_max_wait_hours: float = Field(default=48.0, ge=6, allow_inf_nan=False)
    reward_default: float | None = Field(default=None, ge=-1, le=1)

    # Text embedder for profiles and topics without a given vector: the ONNX
    # all-MiniLM-L6-v2 ("minilm"), none, or "auto" (minilm when it is installed).
    embedder: Literal["auto", "minilm", "none"] = "auto"

    # LLM providers (SPEC §8). No key: the deterministic offline generator.
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

    def policy_params(self) -> PolicyParams:
        return PolicyParams(
            tau=self.policy_tau,
            epsilon=self.policy_epsilon,
            alpha_h=self.policy_alpha_h,
            alpha_theta=self.policy_alpha_theta,
            beta=self.policy_beta,
        )

    def reward_config(self) -> RewardConfig:
        return RewardConfig(
            window_hours=self.reward_window_hours,
            max_wait_hours=self.reward_max_wait_hours,
            default_reward=self.reward_default,
        )
