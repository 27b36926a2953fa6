from pathlib import Path

import pytest

from linebot_app.config import ConfigError, load_settings
from tests.conftest import TEST_SETTINGS


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Kairan variable in the environment, and a working directory without `.env`."""
    for name in [*TEST_SETTINGS, "DATABASE_URL", "KAIRAN_DEMO", "KAIRAN_LOG_LEVEL"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.usefixtures("clean_env")
def test_missing_settings_are_named_in_one_bilingual_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("設定エラー:")
    assert "Configuration error:" in message
    for name in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "KAIRAN_PUBLIC_URL"):
        assert name in message


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("LINE_API_BASE_URL", "api.line.me", "http"),
        ("KAIRAN_PUBLIC_URL", "ftp://example.org", "http"),
        ("KAIRAN_PUBLIC_URL", "http://kairan.example.org", "https://"),
        ("DATABASE_URL", "mysql://localhost/kairan", "postgresql"),
        ("SECRET_KEY", "too-short", "32"),
        ("KAIRAN_DEMO", "perhaps", "KAIRAN_DEMO"),
        ("KAIRAN_LANGUAGES", "en,english", "language tag"),
        ("KAIRAN_LANGUAGES", "ja-JP", "other than Japanese"),
        ("KAIRAN_LANGUAGES", "en,en", "twice"),
    ],
)
def test_malformed_setting_is_named_without_echoing_its_value(
    name: str, value: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**{**TEST_SETTINGS, name: value})
    message = str(caught.value)
    assert reason in message
    assert name in message or name == "KAIRAN_PUBLIC_URL"
    if name == "SECRET_KEY":
        assert value not in message


def test_settings_come_from_dotenv_and_the_environment_wins(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [f"{key}={value}" for key, value in TEST_SETTINGS.items()]
    (clean_env / ".env").write_text("\n".join(lines), encoding="utf-8")
    monkeypatch.setenv("KAIRAN_PUBLIC_URL", "https://from-environment.example")
    settings = load_settings()
    assert settings.LINE_CHANNEL_SECRET.get_secret_value() == "test-channel-secret"
    assert settings.KAIRAN_PUBLIC_URL == "https://from-environment.example"


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u@db/kairan", "postgresql+psycopg://u@db/kairan"),
        ("postgresql://u@db/kairan", "postgresql+psycopg://u@db/kairan"),
        ("postgresql+psycopg://u@db/kairan", "postgresql+psycopg://u@db/kairan"),
        ("sqlite:////var/lib/kairan.sqlite3", "sqlite:////var/lib/kairan.sqlite3"),
    ],
)
def test_database_url_uses_psycopg3(given: str, used: str) -> None:
    settings = load_settings(**{**TEST_SETTINGS, "DATABASE_URL": given})
    assert used == settings.DATABASE_URL


@pytest.mark.usefixtures("clean_env")
def test_demo_mode_allows_plain_http_links() -> None:
    settings = load_settings(
        **{**TEST_SETTINGS, "KAIRAN_PUBLIC_URL": "http://127.0.0.1:8000/", "KAIRAN_DEMO": "true"}
    )
    assert settings.KAIRAN_PUBLIC_URL == "http://127.0.0.1:8000"


@pytest.mark.usefixtures("clean_env")
def test_translation_languages_are_a_list_of_tags_english_by_default() -> None:
    assert load_settings(**TEST_SETTINGS).languages == ("en",)
    configured = load_settings(**{**TEST_SETTINGS, "KAIRAN_LANGUAGES": " en, zh-Hans ,ko"})
    assert configured.languages == ("en", "zh-Hans", "ko")
    assert load_settings(**{**TEST_SETTINGS, "KAIRAN_LANGUAGES": ""}).languages == ()


@pytest.mark.parametrize(
    ("overrides", "url"),
    [
        ({"KAIRAN_ADD_FRIEND_URL": None}, None),
        (
            {"KAIRAN_ADD_FRIEND_URL": None, "KAIRAN_DEMO": True},
            "https://line.me/R/ti/p/@kairan-demo",
        ),
        ({"KAIRAN_ADD_FRIEND_URL": "https://lin.ee/abc/"}, "https://lin.ee/abc"),
    ],
)
@pytest.mark.usefixtures("clean_env")
def test_only_the_demo_has_a_placeholder_add_friend_link(
    overrides: dict[str, object], url: str | None
) -> None:
    assert load_settings(**{**TEST_SETTINGS, **overrides}).add_friend_url == url
