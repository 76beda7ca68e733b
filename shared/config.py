"""Settings, read from the environment once, lazily (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.policy import PolicyParams
from shared.reward import RewardConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob of the product. Secrets would be SecretStr and never logged."""

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
