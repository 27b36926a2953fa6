from pathlib import Path

import pytest

from linebot_app.config import ConfigError, load_settings
from tests.helpers.settings import TEST_SETTINGS


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
    ("name", "value", "reason", "reason_ja"),
    [
        ("LINE_API_BASE_URL", "api.line.me", "http", "http:// か https:// の URL"),
        ("KAIRAN_PUBLIC_URL", "ftp://example.org", "http", "http:// か https:// の URL"),
        ("KAIRAN_PUBLIC_URL", "http://kairan.example.org", "https://", "https:// で始めて"),
        ("DATABASE_URL", "mysql://localhost/kairan", "postgresql", "postgresql:// の URL"),
        ("SECRET_KEY", "too-short", "32", "32文字以上"),
        ("KAIRAN_DEMO", "perhaps", "boolean", "true か false"),
        ("KAIRAN_WORKER_SENDERS", "17", "less than or equal to 16", "16 以下"),
        ("KAIRAN_WORKER_SENDERS", "many", "integer", "整数"),
        ("KAIRAN_LOG_LEVEL", "LOUD", "'ERROR'", "のどれか"),
        ("KAIRAN_QUIET_HOURS", "night", "21:00-08:00", "21:00-08:00 の形"),
        ("KAIRAN_LANGUAGES", "en,english", "language tag", "言語タグ"),
        ("KAIRAN_LANGUAGES", "ja-JP", "other than Japanese", "日本語以外"),
        ("KAIRAN_LANGUAGES", "en,en", "twice", "2回"),
    ],
)
def test_malformed_setting_is_named_with_its_reason_in_both_languages(
    name: str, value: str, reason: str, reason_ja: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**{**TEST_SETTINGS, name: value})
    japanese, english = str(caught.value).split(" / Configuration error: ")
    assert japanese.startswith(f"設定エラー: {name} の値が正しくありません（")
    assert reason_ja in japanese
    assert english.startswith(f"invalid {name} (")
    assert reason in english
    assert value not in str(caught.value)


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
