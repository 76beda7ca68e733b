from shared.config import Settings


def test_an_empty_mounted_secret_reads_as_not_configured():
    s = Settings(xai_api_key="", gemini_api_key="", webhook_secret="", database_url="")
    assert s.xai_api_key is None and s.gemini_api_key is None and s.webhook_secret is None
    assert s.database_url is None
    assert s.auth_config().webhook_secrets == ()


def test_secrets_are_masked_in_the_settings_repr():
    s = Settings(webhook_secret="sentinel-abc", xai_api_key="sentinel-key")
    assert "sentinel" not in repr(s)
    assert s.auth_config().webhook_secrets == ("sentinel-abc",)
