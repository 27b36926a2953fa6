"""Getting a login link: 「ログイン」 in LINE for staff, `kairan staff login-link` for the first
admin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linebot_app.chat import replies
from linebot_app.cli import cli
from models import LoginLink, Resident, Role, StaffMember
from tests.helpers.webhooks import text_event


def links(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(LoginLink)) or 0)


def test_staff_sending_login_gets_a_link_and_residents_do_not(
    session: Session,
    post_webhook: Callable[..., Any],
    make_staff: Callable[..., StaffMember],
    make_resident: Callable[..., Resident],
) -> None:
    officer = make_staff(Role.officer, association_id=make_resident().association_id)
    resident = make_resident()
    session.commit()
    assert post_webhook([text_event(resident.line_user_id, "ログイン")]).status_code == 200
    assert links(session) == 0
    # Width and case are normalised like every other command.
    assert post_webhook([text_event(officer.line_user_id, "ﾛｸﾞｲﾝ")]).status_code == 200
    assert post_webhook([text_event(officer.line_user_id, "Login")]).status_code == 200
    assert links(session) == 2
    link = session.scalars(select(LoginLink)).first()
    assert link is not None and link.staff_member_id == officer.id


def test_the_reply_is_a_uri_button_in_the_staff_members_language() -> None:
    url = "https://kairan.test/dashboard/login/abc"
    expires = datetime(2026, 12, 1, 0, 10, tzinfo=UTC)
    (message,) = replies.login_link(url, expires, "ja")
    data = message.to_dict()
    assert data["type"] == "flex"
    assert "09:10まで" in data["altText"]
    assert data["contents"]["footer"]["contents"][0]["action"] == {
        "type": "uri",
        "label": "管理画面を開く",
        "uri": url,
    }
    (english,) = replies.login_link(url, expires, "en")
    assert "09:10" in english.to_dict()["altText"] and "once" in english.to_dict()["altText"]


def test_cli_prints_a_link_for_staff_only(
    app: Flask, session: Session, make_staff: Callable[..., StaffMember]
) -> None:
    admin = make_staff(Role.admin)
    session.commit()
    info = ScriptInfo(create_app=lambda: app)
    result = CliRunner().invoke(cli, ["staff", "login-link", admin.line_user_id], obj=info)
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("https://kairan.test/dashboard/login/")
    assert links(session) == 1
    unknown = CliRunner().invoke(cli, ["staff", "login-link", "U" + "0" * 32], obj=info)
    assert unknown.exit_code == 2
    assert "役割がありません" in unknown.output
