"""`kairan line check` against the simulator: a channel set up as docs/line-setup.md says passes,
and each way of getting it wrong is named by one line that says what to fix (issue #21, item 1).

Kairan's web app is served over HTTP so that the simulator's test call reaches a real /callback;
the command runs with its own settings, whose KAIRAN_PUBLIC_URL points at that app.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, MessagingApiBlob

from linebot_app import create_app
from linebot_app.cli import cli
from simulator.testing import RunningSimulator, SimulatorClient
from tests.helpers.servers import serving
from tests.helpers.settings import TEST_SETTINGS, make_settings

Check = Callable[..., Result]


def kairan_app(tmp_path: Path, **overrides: Any) -> Flask:
    """An app of its own (the check needs no database; a file is made only if one is used)."""
    database = f"sqlite:///{tmp_path / 'kairan.sqlite3'}"
    return create_app(make_settings(DATABASE_URL=database, **overrides))


@pytest.fixture
def web(tmp_path: Path, sim: SimulatorClient, line_simulator: RunningSimulator) -> Iterator[str]:
    """Kairan's web process, reachable over HTTP; its base URL is the public URL."""
    app = kairan_app(tmp_path, LINE_API_BASE_URL=line_simulator.base_url)
    with serving(app) as base:
        yield base


@pytest.fixture
def run(tmp_path: Path, line_simulator: RunningSimulator, web: str) -> Check:
    """`kairan <args>` with settings pointing at the simulator and at the served app."""

    def invoke(*args: str, **overrides: Any) -> Result:
        settings: dict[str, Any] = {
            "LINE_API_BASE_URL": line_simulator.base_url,
            "KAIRAN_DEMO": True,  # the public URL is plain http:// on loopback
            "KAIRAN_PUBLIC_URL": web,
            **overrides,
        }
        app = kairan_app(tmp_path, **settings)
        return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))

    return invoke


@pytest.fixture
def configured(sim: SimulatorClient, web: str, run: Check) -> SimulatorClient:
    """A channel set up as docs/line-setup.md says: webhook URL, webhook on, Kairan's rich menu,
    the municipal plan (no limit)."""
    sim.set_webhook_url(f"{web}/callback")
    sim.set_quota(None)
    setup = run("line", "setup")
    assert setup.exit_code == 0, setup.output
    return sim


@pytest.fixture
def line_api(line_simulator: RunningSimulator) -> Iterator[tuple[MessagingApi, MessagingApiBlob]]:
    configuration = Configuration(
        host=line_simulator.base_url, access_token=TEST_SETTINGS["LINE_CHANNEL_ACCESS_TOKEN"]
    )
    with ApiClient(configuration) as client:
        yield MessagingApi(client), MessagingApiBlob(client)


def marked(result: Result, mark: str) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith(mark)]


def problems(result: Result) -> list[str]:
    return marked(result, "NG")


def test_a_channel_set_up_as_documented_passes(configured: SimulatorClient, run: Check) -> None:
    result = run("line", "check")
    assert result.exit_code == 0, result.output
    assert problems(result) == []
    assert marked(result, "注意") == []
    lines = marked(result, "OK")
    assert [line.split()[1].split(":")[0] for line in lines] == [
        "トークン",
        "Webhook",
        "LINE",
        "メッセージ数",
        "リッチメニュー",
    ]
    assert "Kairan (simulator)" in lines[0]
    assert "LINE の設定は問題ありません" in result.output
    # LINE's test call reached Kairan's /callback and was answered 200.
    (test_call,) = [w for w in configured.webhooks_log() if w.get("test")]
    assert (test_call["status"], test_call["body"]["events"]) == (200, [])


def test_a_wrong_token_is_the_one_problem_named(configured: SimulatorClient, run: Check) -> None:
    result = run("line", "check", LINE_CHANNEL_ACCESS_TOKEN="not-the-channels-token")
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert "チャネルアクセストークンが無効です" in problem
    assert "LINE_CHANNEL_ACCESS_TOKEN" in problem
    # Japanese first, then English, on one line.
    assert problem.index("トークン") < problem.index(" / The channel access token")
    assert marked(result, "OK") == []
    assert "直すべき点が 1 件あります" in result.output


def test_an_unreachable_platform_is_named(configured: SimulatorClient, run: Check) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    result = run("line", "check", LINE_API_BASE_URL=f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert f"LINE_API_BASE_URL（http://127.0.0.1:{port}）に接続できません" in problem


def test_an_unset_webhook_is_named(configured: SimulatorClient, run: Check, web: str) -> None:
    configured.set_webhook_url(None)
    result = run("line", "check")
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert "Webhook URL が設定されていません" in problem and f"{web}/callback" in problem
    # LINE can still reach Kairan when asked to: only the console's setting is missing.
    assert any("LINE からの試験送信" in line for line in marked(result, "OK"))


def test_a_webhook_pointing_elsewhere_is_named(
    configured: SimulatorClient, run: Check, web: str
) -> None:
    configured.set_webhook_url("https://old-server.example.jp/callback")
    result = run("line", "check")
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert "Webhook URL が https://old-server.example.jp/callback になっています" in problem
    assert f"{web}/callback に直してください" in problem
    # The test call went to Kairan's URL, not to the one set in the console.
    assert [w["status"] for w in configured.webhooks_log() if w.get("test")] == [200]


def test_webhook_usage_switched_off_is_named(
    configured: SimulatorClient, run: Check, web: str
) -> None:
    configured.set_webhook_url(f"{web}/callback", active=False)
    result = run("line", "check")
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert "「Webhookの利用」がオフです" in problem


def test_a_failing_test_call_names_the_channel_secret(
    configured: SimulatorClient, tmp_path: Path, line_simulator: RunningSimulator, run: Check
) -> None:
    """The web process runs with a secret that is not the channel's: it refuses LINE's
    signature with 400, and the check says which setting to compare."""
    (tmp_path / "wrong").mkdir()
    wrong = kairan_app(
        tmp_path / "wrong",
        LINE_API_BASE_URL=line_simulator.base_url,
        LINE_CHANNEL_SECRET="not-the-channels-secret",
    )
    with serving(wrong) as base:
        configured.set_webhook_url(f"{base}/callback")
        result = run("line", "check", KAIRAN_PUBLIC_URL=base)
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert "400 で拒否しました" in problem and "LINE_CHANNEL_SECRET" in problem


def test_a_web_process_that_is_not_running_is_named(
    configured: SimulatorClient, run: Check
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    public = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    configured.set_webhook_url(f"{public}/callback")
    result = run("line", "check", KAIRAN_PUBLIC_URL=public)
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert f"LINE から {public}/callback に接続できませんでした（COULD_NOT_CONNECT）" in problem


def test_no_rich_menu_is_named(
    configured: SimulatorClient, run: Check, line_api: tuple[MessagingApi, MessagingApiBlob]
) -> None:
    api, _blob = line_api
    api.cancel_default_rich_menu()
    result = run("line", "check")
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert "既定のリッチメニューがありません。`kairan line setup` を実行してください" in problem


def test_someone_elses_rich_menu_is_named(
    configured: SimulatorClient, run: Check, line_api: tuple[MessagingApi, MessagingApiBlob]
) -> None:
    from linebot.v3.messaging import (
        MessageAction,
        RichMenuArea,
        RichMenuBounds,
        RichMenuRequest,
        RichMenuSize,
    )

    api, blob = line_api
    other = api.create_rich_menu(
        RichMenuRequest(
            size=RichMenuSize(width=2500, height=843),
            selected=False,
            name="観光案内",
            chat_bar_text="メニュー",
            areas=[
                RichMenuArea(
                    bounds=RichMenuBounds(x=0, y=0, width=2500, height=843),
                    action=MessageAction(label="案内", text="案内"),
                )
            ],
        )
    ).rich_menu_id
    blob.set_rich_menu_image(other, png(), _headers={"Content-Type": "image/png"})
    api.set_default_rich_menu(other)
    result = run("line", "check")
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert "既定のリッチメニュー「観光案内」は Kairan のものではありません" in problem


def test_an_exhausted_quota_is_named(configured: SimulatorClient, run: Check) -> None:
    configured.set_quota(5_000, used=5_000)
    result = run("line", "check")
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert "今月 5,000 / 5,000 通を使用、残り 0 通（ライトプラン）" in problem


def test_the_free_plan_is_a_warning_not_a_failure(configured: SimulatorClient, run: Check) -> None:
    configured.set_quota(200, used=12)
    result = run("line", "check")
    assert result.exit_code == 0, result.output
    (warning,) = marked(result, "注意")
    assert "コミュニケーションプラン（無料）" in warning and "地方公共団体プラン" in warning


def test_several_faults_are_each_named(
    configured: SimulatorClient, run: Check, line_api: tuple[MessagingApi, MessagingApiBlob]
) -> None:
    api, _blob = line_api
    configured.set_webhook_url("https://old-server.example.jp/callback", active=False)
    api.cancel_default_rich_menu()
    result = run("line", "check")
    assert result.exit_code == 1
    assert len(problems(result)) == 3
    assert "直すべき点が 3 件あります" in result.output


def png() -> bytes:
    import io

    from PIL import Image

    output = io.BytesIO()
    Image.new("RGB", (2500, 843), "#336699").save(output, format="PNG")
    return output.getvalue()
