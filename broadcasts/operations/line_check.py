"""`kairan line check`: is this configuration connected to a working LINE channel?

Asks the platform LINE_API_BASE_URL points at, in the order a person would fix things: the
access token (bot info), the webhook URL and 「Webhookの利用」, LINE's own test call to
`KAIRAN_PUBLIC_URL/callback`, the month's quota and plan, and the default rich menu. Every
finding is one line, Japanese then English; a problem says what to change and where.

Only reads, except the test call, which makes LINE post one request with no events to Kairan's
webhook (Kairan answers it and does nothing).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import urllib3

from broadcasts.delivery.line import Line, classify
from broadcasts.rollout import richmenu

if TYPE_CHECKING:
    from linebot.v3.messaging import ApiException

CALLBACK_PATH = "/callback"
# The Messaging API plans in Japan since June 2023 (messages a month); BRIEF.md.
FREE_PLAN_MESSAGES = 200
PLANS = {
    200: ("コミュニケーションプラン（無料）", "Communication plan (free)"),
    5_000: ("ライトプラン", "Light plan"),
    30_000: ("スタンダードプラン", "Standard plan"),
}
# Below this share of the month's messages left, the check warns.
LOW_QUOTA_SHARE = 0.1
CONSOLE = "LINE Developers コンソールの「Messaging API設定」"
CONSOLE_EN = "'Messaging API' tab of the LINE Developers console"


class Status(enum.Enum):
    ok = "ok"
    warning = "warning"  # worth knowing; Kairan works
    problem = "problem"  # Kairan does not work as it should until it is fixed


@dataclass(frozen=True)
class Finding:
    topic: str  # token, webhook, webhook_test, quota, rich_menu
    status: Status
    japanese: str
    english: str

    @property
    def line(self) -> str:
        return f"{self.japanese} / {self.english}"


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status is Status.problem)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Unreachable(Exception):
    """The platform did not answer at all (refused, timed out, dropped)."""


def check(line: Line, api_base_url: str, public_url: str) -> Report:
    """Every check in turn. Without a working token nothing else can be asked: one finding."""
    token = _token(line, api_base_url)
    if token.status is Status.problem:
        return Report((token,))
    webhook_url = public_url.rstrip("/") + CALLBACK_PATH
    findings = [token]
    steps: tuple[tuple[str, Callable[[], list[Finding]]], ...] = (
        ("webhook", lambda: _webhook(line, webhook_url)),
        ("webhook_test", lambda: _webhook_test(line, webhook_url)),
        ("quota", lambda: _quota(line)),
        ("rich_menu", lambda: _rich_menu(line)),
    )
    for topic, step in steps:
        findings.extend(_guarded(topic, step, api_base_url))
    return Report(tuple(findings))


def _guarded(topic: str, step: Callable[[], list[Finding]], api_base_url: str) -> list[Finding]:
    """A step's findings, or one problem if LINE failed it in a way the step did not expect."""
    from linebot.v3.messaging import ApiException

    try:
        return step()
    except ApiException as error:
        return [_refused(topic, error)]
    except _Unreachable:
        return [_unreachable(topic, api_base_url)]


def _call(function: Callable[..., Any], *args: Any, line: Line) -> Any:
    try:
        return function(*args, _request_timeout=line.timeout)
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise _Unreachable from error


def _token(line: Line, api_base_url: str) -> Finding:
    from linebot.v3.messaging import ApiException

    try:
        bot = _call(line.api.get_bot_info, line=line)
    except _Unreachable:
        return _unreachable("token", api_base_url)
    except ApiException as error:
        if error.status in (401, 403):
            return Finding(
                "token",
                Status.problem,
                "チャネルアクセストークンが無効です。"
                f"{CONSOLE}で長期のチャネルアクセストークンを発行し（v2.1 のトークンも可）、"
                "LINE_CHANNEL_ACCESS_TOKEN に設定してください。ほかの項目は確認できません",
                "The channel access token does not work: issue a long-lived (or v2.1) channel"
                f" access token in the {CONSOLE_EN} and set LINE_CHANNEL_ACCESS_TOKEN;"
                " nothing else could be checked",
            )
        return _refused("token", error)
    return Finding(
        "token",
        Status.ok,
        f"トークン: 有効（{bot.display_name}、{bot.basic_id}）",
        f"Token works (bot {bot.display_name}, {bot.basic_id})",
    )


def _webhook(line: Line, expected: str) -> list[Finding]:
    endpoint = _call(line.api.get_webhook_endpoint, line=line)
    findings: list[Finding] = []
    if not endpoint.endpoint:
        findings.append(
            Finding(
                "webhook",
                Status.problem,
                f"Webhook URL が設定されていません。{CONSOLE}の「Webhook URL」に {expected}"
                " を入れてください",
                f"No webhook URL is set: enter {expected} as 'Webhook URL' in the {CONSOLE_EN}",
            )
        )
        return findings
    if endpoint.endpoint != expected:
        findings.append(
            Finding(
                "webhook",
                Status.problem,
                f"Webhook URL が {endpoint.endpoint} になっています。{CONSOLE}で {expected}"
                " に直してください（KAIRAN_PUBLIC_URL が違うなら、そちらを直してください）",
                f"The webhook URL is {endpoint.endpoint}: change it to {expected} in the"
                f" {CONSOLE_EN} (or fix KAIRAN_PUBLIC_URL if that is what is wrong)",
            )
        )
    if not endpoint.active:
        findings.append(
            Finding(
                "webhook",
                Status.problem,
                f"「Webhookの利用」がオフです。{CONSOLE}でオンにしてください"
                "（オフのままでは住民の操作が Kairan に届きません）",
                f"'Use webhook' is off: switch it on in the {CONSOLE_EN}"
                " (until then nothing residents do reaches Kairan)",
            )
        )
    if not findings:
        findings.append(
            Finding(
                "webhook",
                Status.ok,
                f"Webhook URL: {expected}（「Webhookの利用」オン）",
                f"Webhook URL is {expected} and in use",
            )
        )
    return findings


def _webhook_test(line: Line, url: str) -> list[Finding]:
    """LINE's own test call, always to Kairan's URL: whatever the console says, this tells
    whether LINE can reach the app and the app accepts LINE's signature."""
    from linebot.v3.messaging import TestWebhookEndpointRequest

    result = _call(
        line.api.test_webhook_endpoint, TestWebhookEndpointRequest(endpoint=url), line=line
    )
    if result.success:
        return [
            Finding(
                "webhook_test",
                Status.ok,
                f"LINE からの試験送信: {url} が {result.status_code} で応答しました",
                f"LINE's test call: {url} answered {result.status_code}",
            )
        ]
    if result.reason == "ERROR_STATUS_CODE" and result.status_code == 400:
        # Kairan's webhook answers 400 to a request whose signature it cannot verify.
        japanese = (
            f"LINE からの試験送信を {url} が 400 で拒否しました。LINE_CHANNEL_SECRET が"
            " LINE Developers コンソールの「チャネル基本設定」のチャネルシークレットと"
            "同じか確認し、web プロセスを再起動してください"
        )
        english = (
            f"{url} refused LINE's test call with 400: check that LINE_CHANNEL_SECRET equals the"
            " channel secret under 'Basic settings' in the console, then restart the web process"
        )
    elif result.reason == "ERROR_STATUS_CODE":
        japanese = (
            f"LINE からの試験送信に {url} が HTTP {result.status_code} で応答しました。"
            "web プロセスのログと /healthz を確認してください"
        )
        english = (
            f"{url} answered LINE's test call with HTTP {result.status_code}:"
            " check the web process's log and /healthz"
        )
    elif result.reason == "REQUEST_TIMEOUT":
        japanese = (
            f"LINE からの試験送信に {url} が時間内に応答しませんでした"
            "（LINE は2秒で打ち切ります）。web プロセスとデータベースが動いているか確認してください"
        )
        english = (
            f"{url} did not answer LINE's test call in time (LINE gives up after 2 s):"
            " check that the web process and the database are running"
        )
    else:
        japanese = (
            f"LINE から {url} に接続できませんでした（{result.reason}）。DNS、TLS 証明書、"
            "ファイアウォール、リバースプロキシ、web プロセスを確認してください"
        )
        english = (
            f"LINE could not connect to {url} ({result.reason}): check DNS, the TLS"
            " certificate, the firewall, the reverse proxy and the web process"
        )
    return [Finding("webhook_test", Status.problem, japanese, english)]


def plan_name(limit: int) -> tuple[str, str]:
    """The plan a monthly limit suggests: LINE reports the limit, not the plan's name."""
    if limit in PLANS:
        return PLANS[limit]
    if limit > 30_000:
        return "スタンダードプラン（追加メッセージの上限あり）", "Standard plan with a cap"
    return f"月 {limit:,} 通のプラン", f"a plan of {limit:,} messages a month"


def _quota(line: Line) -> list[Finding]:
    quota = _call(line.api.get_message_quota, line=line)
    if quota.type != "limited" or quota.value is None:
        return [
            Finding(
                "quota",
                Status.ok,
                "メッセージ数: 上限なし（地方公共団体プラン、または追加メッセージに上限のない"
                "スタンダードプラン）",
                "Messages: no monthly limit (the 地方公共団体プラン for municipalities, or a"
                " Standard plan without a cap)",
            )
        ]
    limit = int(quota.value)
    used = int(_call(line.api.get_message_quota_consumption, line=line).total_usage)
    remaining = max(0, limit - used)
    plan_ja, plan_en = plan_name(limit)
    usage_ja = f"今月 {used:,} / {limit:,} 通を使用、残り {remaining:,} 通（{plan_ja}）"
    usage_en = f"{used:,} of {limit:,} messages used this month, {remaining:,} left ({plan_en})"
    if remaining == 0:
        return [
            Finding(
                "quota",
                Status.problem,
                f"{usage_ja}。今月はもう回覧を送れません。LINE Official Account Manager の"
                "「利用と請求」でプランか追加メッセージの上限を見直してください",
                f"{usage_en}: no circular can go out this month; raise the plan or the cap on"
                " additional messages in LINE Official Account Manager",
            )
        ]
    if limit <= FREE_PLAN_MESSAGES:
        return [
            Finding(
                "quota",
                Status.warning,
                f"{usage_ja}。無料プランでは回覧1件が {limit} 人までしか届きません。"
                "市の公式アカウントなら地方公共団体プランを申請してください",
                f"{usage_en}: on the free plan one circular reaches at most {limit} residents;"
                " a city's official account can apply for the 地方公共団体プラン",
            )
        ]
    if remaining < limit * LOW_QUOTA_SHARE:
        return [
            Finding(
                "quota",
                Status.warning,
                f"{usage_ja}。残りが1割を切りました",
                f"{usage_en}: less than a tenth is left",
            )
        ]
    return [Finding("quota", Status.ok, f"メッセージ数: {usage_ja}", f"Messages: {usage_en}")]


def _rich_menu(line: Line) -> list[Finding]:
    from linebot.v3.messaging import ApiException

    setup = "`kairan line setup` を実行してください"
    setup_en = "run `kairan line setup`"
    try:
        menu_id = _call(line.api.get_default_rich_menu_id, line=line).rich_menu_id
    except ApiException as error:
        if error.status != 404:
            raise
        return [
            Finding(
                "rich_menu",
                Status.problem,
                f"既定のリッチメニューがありません。{setup}",
                f"No default rich menu is set: {setup_en}",
            )
        ]
    menu = _call(line.api.get_rich_menu, menu_id, line=line)
    if menu.name != richmenu.NAME:
        return [
            Finding(
                "rich_menu",
                Status.problem,
                f"既定のリッチメニュー「{menu.name}」は Kairan のものではありません。{setup}",
                f"The default rich menu '{menu.name}' is not Kairan's: {setup_en}",
            )
        ]
    if _areas(menu.areas) != _areas(richmenu.menu_request().areas) or (
        (menu.size.width, menu.size.height) != (richmenu.WIDTH, richmenu.HEIGHT)
    ):
        return [
            Finding(
                "rich_menu",
                Status.problem,
                f"既定のリッチメニューは Kairan の古い版です。{setup}",
                f"The default rich menu is an older version of Kairan's: {setup_en}",
            )
        ]
    return [
        Finding(
            "rich_menu",
            Status.ok,
            "リッチメニュー: Kairan のメニューが既定です",
            "Rich menu: Kairan's menu is the default",
        )
    ]


def _areas(areas: list[Any]) -> list[tuple[int, int, int, int, str | None]]:
    """What a menu does where: each area's bounds and its postback data."""
    return [
        (
            area.bounds.x,
            area.bounds.y,
            area.bounds.width,
            area.bounds.height,
            getattr(area.action, "data", None),
        )
        for area in areas
    ]


def _unreachable(topic: str, api_base_url: str) -> Finding:
    return Finding(
        topic,
        Status.problem,
        f"LINE_API_BASE_URL（{api_base_url}）に接続できません。URL とネットワーク"
        "（プロキシ、ファイアウォール、DNS）を確認してください",
        f"Cannot reach LINE_API_BASE_URL ({api_base_url}): check the URL and the network"
        " (proxy, firewall, DNS)",
    )


def _refused(topic: str, error: ApiException) -> Finding:
    """An answer the check did not expect: LINE's status and message, never a request body."""
    outcome = classify(error)
    detail = outcome.detail or f"HTTP {error.status}"
    return Finding(
        topic,
        Status.problem,
        f"LINE が要求を受け付けませんでした（{detail}）。少し待ってもう一度実行してください",
        f"LINE refused a request ({detail}); try again in a moment",
    )
