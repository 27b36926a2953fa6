"""`kairan circulars list | cancel | print-link`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy.orm import Session

from broadcasts.circulars import lifecycle
from broadcasts.circulars.targeting import Target
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft
from linebot_app.cli import cli
from models import Association, Circular, CircularStatus, Role, StaffMember
from tests.helpers.clock import FakeClock


def test_list_cancel_and_print_link(
    app: Flask,
    session: Session,
    clock: FakeClock,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
) -> None:
    association = make_association()
    admin = make_staff(Role.admin)
    made = [
        drafts.save_draft(
            session,
            clock,
            admin,
            CircularDraft(
                title=title, body="本文", targets=Target.of(associations=[association.id])
            ),
        )
        for title in ("ごみ出しの変更", "夏祭り")
    ]
    lifecycle.schedule(session, clock, admin, made[1], clock.now() + timedelta(days=1))
    made[0].status = CircularStatus.sent
    session.commit()
    runner, info = CliRunner(), ScriptInfo(create_app=lambda: app)

    listed = runner.invoke(cli, ["circulars", "list"], obj=info)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].startswith(f"{made[1].id}\tscheduled\t") and lines[0].endswith("夏祭り")
    assert lines[1].startswith(f"{made[0].id}\tsent\t") and "0/0" in lines[1]
    only = runner.invoke(cli, ["circulars", "list", "--status", "sent"], obj=info)
    assert len(only.output.splitlines()) == 1

    cancelled = runner.invoke(cli, ["circulars", "cancel", str(made[1].id)], obj=info)
    assert cancelled.exit_code == 0, cancelled.output
    session.expire_all()
    assert session.get(Circular, made[1].id).status is CircularStatus.cancelled  # type: ignore[union-attr]
    refused = runner.invoke(cli, ["circulars", "cancel", str(made[0].id)], obj=info)
    assert refused.exit_code != 0 and "訂正" in refused.output
    missing = runner.invoke(cli, ["circulars", "cancel", "999999"], obj=info)
    assert missing.exit_code != 0 and "999999" in missing.output

    link = runner.invoke(cli, ["circulars", "print-link", str(made[0].id)], obj=info)
    assert link.exit_code == 0
    url = link.output.strip()
    assert url.startswith("https://kairan.test/print/link/")
    page = app.test_client().get(url.removeprefix("https://kairan.test"))
    assert page.status_code == 200 and "ごみ出しの変更" in page.get_data(as_text=True)
