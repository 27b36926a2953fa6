"""Rolling Kairan out: `kairan districts …` (district by district), `kairan import areas` (the
city's districts, associations and 班 from a CSV), and `kairan line setup` (the channel's rich
menu)."""

from __future__ import annotations

from pathlib import Path

import click
import urllib3
from flask.cli import AppGroup
from sqlalchemy import select

from linebot_app.cli.common import CommandError, require_current_schema
from linebot_app.extensions import clock, db, line
from models import District


@click.group("districts", cls=AppGroup)
def districts_group() -> None:
    """Districts preparing or active (段階的導入)."""


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


@click.group("import", cls=AppGroup)
def import_group() -> None:
    """Load data from files."""


@import_group.command("areas")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_areas_command(csv_file: Path) -> None:
    """Load districts, associations and groups from a CSV saved by Excel.

    Re-importing updates what changed and never duplicates. A file with any bad row changes
    nothing; every bad row is listed with its line number.
    """
    from broadcasts.rollout import area_file, areas

    require_current_schema()
    try:
        # On a terminal the bar moves; in a log (not a terminal) click prints its label once.
        with click.progressbar(
            length=csv_file.stat().st_size, label="取り込み中 / Importing"
        ) as bar:
            report = areas.import_areas(db.session, area_file.read(csv_file, progress=bar.update))
    except area_file.AreaFileError as error:
        # Rows before the first problem were written: the rollback is what changes nothing.
        db.session.rollback()
        for problem in error.problems:
            click.echo(problem, err=True)
        raise CommandError(
            f"取り込みを中止しました（{len(error.problems)}件の問題、変更なし）"
            f" / Import aborted: {len(error.problems)} problem(s), nothing was changed"
        ) from None
    db.session.commit()
    for kind in areas.KINDS:
        click.echo(
            f"{kind}: 新規 {report.created[kind]} / created, 更新 {report.updated[kind]} / updated"
        )


@click.group("line", cls=AppGroup)
def line_group() -> None:
    """Set up the LINE channel."""


@line_group.command("setup")
def line_setup() -> None:
    """Create the default rich menu (回覧を見る・設定・ヘルプ) with its image, through the API.

    Running it again replaces Kairan's menu; followers keep a working menu throughout.
    """
    from linebot.v3.messaging import ApiException

    from broadcasts.rollout import richmenu

    try:
        image = richmenu.render(richmenu.find_font())
    except richmenu.FontMissingError as error:
        raise CommandError(str(error)) from None
    try:
        menu_id = richmenu.install(line(), image)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        raise CommandError(
            f"LINE に接続できませんでした / LINE did not accept the request ({error})"
        ) from None
    click.echo(f"リッチメニューを設定しました / Default rich menu set: {menu_id}")
