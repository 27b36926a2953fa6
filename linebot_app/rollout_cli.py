"""`kairan districts …` and `kairan templates …`: rolling Kairan out district by district.

The groups add themselves to `kairan`; linebot_app.cli imports this module at its end. The
services are imported inside the commands, as in linebot_app.cli.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from linebot_app.cli import CommandError, cli, require_current_schema
from linebot_app.extensions import clock, db
from models import District


@cli.group("districts")
def districts_group() -> None:
    """Districts preparing or active (段階的導入)."""


@cli.group("templates")
def templates_group() -> None:
    """Circular templates (ひな形)."""


@districts_group.command("list")
def districts_list() -> None:
    """Every district with its code and status."""
    require_current_schema()
    for district in db.session.scalars(select(District).order_by(District.kana, District.id)):
        click.echo(f"{district.code}\t{district.status.value}\t{district.name}")


def _set(code: str, active: bool) -> None:
    from broadcasts.rollout import activation

    require_current_schema()
    try:
        district = activation.find(db.session, code)
    except activation.UnknownDistrict:
        raise CommandError(
            f"校区コード {code} は見つかりません / No district with code {code}"
        ) from None
    change = (activation.activate if active else activation.prepare)(
        db.session, clock, None, district
    )
    db.session.commit()
    if not change.changed:
        click.echo(f"{district.name}: 変更なし / unchanged ({district.status.value})")
    elif active:
        click.echo(
            f"{district.name}: 開始しました。お知らせ {change.welcomes} 件は clock が送ります"
            f" / active; the clock sends {change.welcomes} welcome(s)"
        )
    else:
        click.echo(f"{district.name}: 準備中に戻しました / preparing")


@districts_group.command("activate")
@click.argument("code")
def districts_activate(code: str) -> None:
    """Start LINE circulars in the district CODE; its registered residents are welcomed."""
    _set(code, active=True)


@districts_group.command("prepare")
@click.argument("code")
def districts_prepare(code: str) -> None:
    """Set the district CODE back to preparing: no circulars can be composed for it."""
    _set(code, active=False)


@templates_group.command("load")
def templates_load() -> None:
    """Load the city's starter templates (again: only the missing ones are added)."""
    from broadcasts.circulars import templates

    require_current_schema()
    added = templates.load_starter_set(db.session)
    db.session.commit()
    click.echo(f"ひな形を {added} 件追加しました / {added} template(s) added")
