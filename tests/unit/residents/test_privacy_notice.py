"""The privacy notice's settings and the version registration records with each consent."""

from __future__ import annotations

import pytest

from broadcasts.residents import privacy
from linebot_app.config import ConfigError, load_settings
from tests.helpers.settings import TEST_SETTINGS, make_settings


def test_the_default_notice_has_a_version_that_changes_with_the_text_or_the_url() -> None:
    default = make_settings()
    assert default.KAIRAN_RETENTION_DAYS == 180
    assert default.privacy_version.startswith("notice-")
    assert default.privacy_version == privacy.notice_version(None, None)
    own = make_settings(KAIRAN_PRIVACY_NOTICE="当市は…を保存します。")
    linked = make_settings(KAIRAN_PRIVACY_POLICY_URL="https://city.example.jp/privacy")
    versions = {default.privacy_version, own.privacy_version, linked.privacy_version}
    assert len(versions) == 3
    chosen = make_settings(KAIRAN_PRIVACY_VERSION="2026-12", KAIRAN_PRIVACY_NOTICE="…")
    assert chosen.privacy_version == "2026-12"


def test_the_default_notice_says_what_is_kept_and_how_to_see_and_remove_it() -> None:
    japanese = privacy.default_notice(lambda text: text)
    for word in ("LINEの表示名", "LINEのユーザーID", "「わたしの情報」", "「登録解除」"):
        assert word in japanese


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KAIRAN_PRIVACY_POLICY_URL", "city.example.jp/privacy"),
        ("KAIRAN_RETENTION_DAYS", "0"),
        ("KAIRAN_PRIVACY_VERSION", "x" * 65),
    ],
)
def test_malformed_privacy_settings_are_named(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, **{**TEST_SETTINGS, name: value})
    assert name in str(caught.value)
