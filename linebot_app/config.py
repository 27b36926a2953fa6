"""Settings from the environment and an optional `.env`, checked before anything starts."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from broadcasts.delivery.line import MAX_CONCURRENT_CALLS
from broadcasts.schedule.rules import QuietHours
from models.session import normalise_database_url

LINE_API_DEFAULT = "https://api.line.me"
LINE_API_DATA_DEFAULT = "https://api-data.line.me"
DEMO_ADD_FRIEND_URL = "https://line.me/R/ti/p/@kairan-demo"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one bilingual line naming it."""


class Invalid(ValueError):
    """Why a setting's value is refused, in Japanese and in English (never quoting the value)."""

    def __init__(self, japanese: str, english: str) -> None:
        super().__init__(english)
        self.japanese = japanese
        self.english = english


# pydantic's own refusals of the settings' types and bounds, in Japanese; the English is
# pydantic's message. Placeholders are the error's context (`ge`, `le`, `expected`).
PYDANTIC_REASONS_JA = {
    "bool_parsing": "true か false にしてください",
    "int_parsing": "整数にしてください",
    "greater_than_equal": "{ge} 以上にしてください",
    "less_than_equal": "{le} 以下にしてください",
    "literal_error": "{expected} のどれかにしてください",
}


class DatabaseSettings(BaseSettings):
    """What `kairan db upgrade` and `kairan import areas` need: the database, nothing of LINE's
    (a migration must run before the channel exists). Field names are the environment
    variable names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    # None means a SQLite file in the Flask instance folder.
    DATABASE_URL: str | None = None
    KAIRAN_LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "json": one JSON object a line, for a log collector; the same fields, the same redaction.
    KAIRAN_LOG_FORMAT: Literal["text", "json"] = "text"

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite:", "postgres:", "postgresql:", "postgresql+psycopg:")):
            raise Invalid(
                "sqlite:/// か postgresql:// の URL にしてください",
                "must be a sqlite:/// or postgresql:// URL",
            )
        return normalise_database_url(value)


class Settings(DatabaseSettings):
    """Every setting Kairan reads. Field names are the environment variable names."""

    LINE_CHANNEL_SECRET: SecretStr
    LINE_CHANNEL_ACCESS_TOKEN: SecretStr
    LINE_API_BASE_URL: str = LINE_API_DEFAULT
    # LINE serves content (photos users send, rich-menu images) from a second host. Unset: that
    # host when talking to LINE, else LINE_API_BASE_URL (the simulator answers both).
    LINE_API_DATA_BASE_URL: str | None = None
    # Demo mode: the offline demo with the simulator; allows http:// links and plain cookies.
    # Before KAIRAN_PUBLIC_URL, whose check reads it.
    KAIRAN_DEMO: bool = False
    KAIRAN_PUBLIC_URL: str
    SECRET_KEY: SecretStr
    # Unset: no `/metrics` (404). Set: `/metrics` answers a scraper that sends it as a bearer
    # token (docs/monitoring.md).
    KAIRAN_METRICS_TOKEN: SecretStr | None = None
    # After how long without a heartbeat a delivery worker's claim counts as abandoned
    # (PostgreSQL, where several workers run). A live worker beats every second while it waits
    # on LINE; shorter recovers faster and only costs a resend LINE answers with 409.
    KAIRAN_WORKER_STALE_SECONDS: int = Field(default=10, ge=5, le=3600)
    # Threads of one worker sending at once (delivery/worker.py). Each multicast waits for
    # LINE across the internet, so several senders overlap those waits until the CPU binds
    # (docs/BENCHMARKS.md has the measurements).
    KAIRAN_WORKER_SENDERS: int = Field(default=8, ge=1, le=MAX_CONCURRENT_CALLS)
    # Where uploaded photos and PDFs are stored; None: `uploads/` in the Flask instance folder.
    # Every web process must see the same directory (a shared volume with several machines).
    KAIRAN_UPLOAD_DIR: str | None = None
    # Tokyo times between which nothing goes to residents (urgent circulars excepted).
    KAIRAN_QUIET_HOURS: str = "21:00-08:00"
    # The bot's add-friend link (LINE Official Account Manager → 友だち追加ガイド), printed as a
    # QR code on join flyers. No default outside the demo: a placeholder would be printed on
    # thousands of flyers whose QR code leads to no bot; unset, flyers are refused.
    KAIRAN_ADD_FRIEND_URL: str | None = None
    # Languages authors may translate circulars into (comma-separated BCP 47 tags such as
    # "en,zh-Hans,ko"), besides the Japanese original and its やさしい日本語 version.
    KAIRAN_LANGUAGES: str = "en"
    # The notice residents see before they confirm their registration: what is kept and why
    # (docs/privacy.md). Unset: Kairan's own notice, in the resident's language. The operator's
    # privacy policy (プライバシーポリシー) is linked under it when its URL is set.
    KAIRAN_PRIVACY_NOTICE: str | None = Field(default=None, min_length=1, max_length=1000)
    KAIRAN_PRIVACY_POLICY_URL: str | None = None
    # The version registration records with each consent. Unset: derived from the notice and
    # the policy URL, so changing either is a new version.
    KAIRAN_PRIVACY_VERSION: str | None = Field(default=None, min_length=1, max_length=64)
    # Residents who blocked the bot this many days ago are anonymised by the clock.
    KAIRAN_RETENTION_DAYS: int = Field(default=180, ge=1, le=3650)

    @field_validator(
        "LINE_API_BASE_URL",
        "LINE_API_DATA_BASE_URL",
        "KAIRAN_PUBLIC_URL",
        "KAIRAN_ADD_FRIEND_URL",
        "KAIRAN_PRIVACY_POLICY_URL",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Invalid(
                "http:// か https:// の URL にしてください", "must be an http:// or https:// URL"
            )
        return value.rstrip("/")

    @field_validator("KAIRAN_PUBLIC_URL")
    @classmethod
    def _https_outside_demo(cls, value: str, info: ValidationInfo) -> str:
        # LINE opens links and loads images only over HTTPS; http:// is for the offline demo.
        if not info.data.get("KAIRAN_DEMO") and not value.startswith("https://"):
            raise Invalid(
                "デモ以外では https:// で始めてください",
                "must start with https:// outside demo mode",
            )
        return value

    @field_validator("KAIRAN_QUIET_HOURS")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        try:
            QuietHours.parse(value)
        except ValueError:
            raise Invalid("21:00-08:00 の形にしてください", "must look like 21:00-08:00") from None
        return value

    @field_validator("KAIRAN_LANGUAGES")
    @classmethod
    def _languages(cls, value: str) -> str:
        # Imported here: broadcasts.circulars.translations loads the models and Babel's catalogues,
        # which `kairan --help` need not pay for.
        from broadcasts.circulars.translations import is_language_tag

        tags = [tag.strip() for tag in value.split(",") if tag.strip()]
        for tag in tags:
            if not is_language_tag(tag) or tag.split("-")[0].lower() == "ja":
                raise Invalid(
                    "日本語以外の言語タグをコンマで区切ってください（例: en,zh-Hans）",
                    "each must be a language tag other than Japanese, e.g. en,zh-Hans",
                )
        if len(set(tags)) != len(tags):
            raise Invalid("同じ言語が2回あります", "a language is listed twice")
        return ",".join(tags)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(tag for tag in self.KAIRAN_LANGUAGES.split(",") if tag)

    @field_validator("SECRET_KEY")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise Invalid("32文字以上にしてください", "must be at least 32 characters")
        return value

    @field_validator("KAIRAN_METRICS_TOKEN")
    @classmethod
    def _long_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise Invalid("32文字以上にしてください", "must be at least 32 characters")
        return value

    @property
    def line_data_base_url(self) -> str:
        if self.LINE_API_DATA_BASE_URL:
            return self.LINE_API_DATA_BASE_URL
        if self.LINE_API_BASE_URL == LINE_API_DEFAULT:
            return LINE_API_DATA_DEFAULT
        return self.LINE_API_BASE_URL

    @property
    def add_friend_url(self) -> str | None:
        """KAIRAN_ADD_FRIEND_URL; in the offline demo, a placeholder when it is unset."""
        if self.KAIRAN_ADD_FRIEND_URL is None and self.KAIRAN_DEMO:
            return DEMO_ADD_FRIEND_URL
        return self.KAIRAN_ADD_FRIEND_URL

    @property
    def privacy_version(self) -> str:
        """KAIRAN_PRIVACY_VERSION, or one that changes whenever the notice or the URL does."""
        from broadcasts.residents.privacy import notice_version

        if self.KAIRAN_PRIVACY_VERSION:
            return self.KAIRAN_PRIVACY_VERSION
        return notice_version(self.KAIRAN_PRIVACY_NOTICE, self.KAIRAN_PRIVACY_POLICY_URL)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one line a person can act on."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(describe(error)) from None


def load_database_settings(**overrides: object) -> DatabaseSettings:
    """Only what the database needs (`kairan db upgrade`, `kairan import areas`)."""
    try:
        return DatabaseSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(describe(error)) from None


def describe(error: ValidationError) -> str:
    missing: list[str] = []
    malformed_ja: list[str] = []
    malformed_en: list[str] = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        if item["type"] == "missing":
            missing.append(name)
            continue
        # The input is never echoed: it may be a secret.
        japanese, english = _reasons(item)
        malformed_ja.append(f"{name} の値が正しくありません（{japanese}）")
        malformed_en.append(f"invalid {name} ({english})")
    parts_ja = [f"{', '.join(missing)} が設定されていません"] if missing else []
    parts_en = [f"{', '.join(missing)} not set"] if missing else []
    return (
        f"設定エラー: {'。'.join([*parts_ja, *malformed_ja])}"
        f" / Configuration error: {'; '.join([*parts_en, *malformed_en])}"
    )


def _reasons(item: ErrorDetails) -> tuple[str, str]:
    """Japanese and English reasons for one of pydantic's errors."""
    cause = item.get("ctx", {}).get("error")
    if isinstance(cause, Invalid):
        return cause.japanese, cause.english
    japanese = PYDANTIC_REASONS_JA.get(item["type"], "形式が正しくありません")
    return japanese.format(**item.get("ctx", {})), item["msg"].removeprefix("Value error, ")
