"""`kairan residents …`: answering a resident's disclosure or deletion request (個人情報の開示・
削除の請求) by their LINE user id. Both are in the audit log, by the resident's id only."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from broadcasts.residents import privacy
from broadcasts.staff import audit
from linebot_app.cli.common import CommandError, require_current_schema
from linebot_app.extensions import clock, db
from models import Resident


@click.group("residents", cls=AppGroup)
def residents_group() -> None:
    """Answer a resident's request to see or delete their data."""


def _resident(line_user_id: str) -> Resident:
    resident = privacy.find(db.session, line_user_id.strip())
    if resident is None:
        raise CommandError(
            "この LINE ユーザー ID の住民はいません（解除・削除済みかもしれません）"
            " / No resident has this LINE user id (they may have left or been erased)"
        )
    return resident


@residents_group.command("export")
@click.argument("line_user_id")
def residents_export(line_user_id: str) -> None:
    """Print, as JSON, every personal field Kairan keeps about the resident (docs/privacy.md)."""
    require_current_schema()
    resident = _resident(line_user_id)
    data = privacy.export(db.session, resident)
    audit.record(db.session, clock, None, "resident.exported", "resident", resident.id)
    db.session.commit()
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))


@residents_group.command("erase")
@click.argument("line_user_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def residents_erase(line_user_id: str, yes: bool) -> None:
    """Anonymise the resident: their name, LINE user id, household and searches go; what they
    received and confirmed stays, anonymous, in the statistics."""
    require_current_schema()
    resident = _resident(line_user_id)
    if not yes:
        click.confirm(
            f"住民 {resident.id} の個人情報を消します。元に戻せません。よろしいですか"
            f" / Erase resident {resident.id}'s personal data? This cannot be undone",
            abort=True,
        )
    try:
        erased = privacy.erase(db.session, clock, resident)
    except privacy.ErasureRefused as error:
        db.session.rollback()
        raise CommandError(str(error)) from None
    audit.record(db.session, clock, None, "resident.erased", "resident", erased.resident_id)
    db.session.commit()
    click.echo(
        f"住民 {erased.resident_id} を匿名にしました（配信 {erased.deliveries} 件・確認"
        f" {erased.acknowledgements} 件は集計に残ります）"
        f" / Resident {erased.resident_id} anonymised ({erased.deliveries} deliveries and"
        f" {erased.acknowledgements} confirmations stay in the statistics)"
    )
