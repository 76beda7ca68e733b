"""The settings: secrets, and the policy's parameters checked by their own rules."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from shared.config import Settings
from shared.core.policy import PolicyParams


def test_an_empty_mounted_secret_reads_as_not_configured():
    s = Settings(xai_api_key="", gemini_api_key="", webhook_secret="", database_url="")
    assert s.xai_api_key is None and s.gemini_api_key is None and s.webhook_secret is None
    assert s.database_url is None
    assert s.auth_config().webhook_secrets == ()


def test_secrets_are_masked_in_the_settings_repr():
    s = Settings(webhook_secret="sentinel-abc", xai_api_key="sentinel-key")
    assert "sentinel" not in repr(s)
    assert s.auth_config().webhook_secrets == ("sentinel-abc",)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("policy_tau", 0.0, "tau must be > 0"),
        ("policy_epsilon", 2.0, "epsilon must be in [0, 1]"),
        ("policy_beta", float("nan"), "beta must be finite"),
        ("policy_alpha_h", -1.0, "learning rates must be >= 0"),
        ("policy_holdback_share", 1.0, "holdback_share must be in [0, 1)"),
    ],
)
def test_the_policy_settings_are_checked_by_the_policy_parameters_own_rules(setting, value, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings(**{setting: value})
    with pytest.raises(ValueError, match=re.escape(message)):
        PolicyParams(**{setting.removeprefix("policy_"): value})


def test_the_settings_defaults_are_the_policy_parameters_defaults():
    assert Settings().policy_params() == PolicyParams()
