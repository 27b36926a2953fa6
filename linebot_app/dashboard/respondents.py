"""「回答者一覧」: who answered a circular's question, and what — on a paged page and in a CSV
(audited and committed before its rows are read, as every export).

Thin: the rows and who may read them are broadcasts.stats.respondents' (inside the viewer's
scope; a free text for the officers of the resident's association only)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from werkzeug.wrappers import Response

from broadcasts.core.clock import TOKYO
from broadcasts.staff import audit
from broadcasts.stats import respondents
from broadcasts.stats.respondents import Respondent
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.common import page_number, seen_circular
from linebot_app.dashboard.exports import csv_response
from linebot_app.extensions import clock, db
from models import Circular

bp = Blueprint("respondents", __name__)


def _asked(circular_id: int) -> Circular:
    """The circular, if the viewer sees it and it asks a question."""
    circular = seen_circular(circular_id)
    if not circular.question:
        abort(404)
    return circular


@bp.get("/circulars/<int:circular_id>/respondents")
@login_required
def listing(circular_id: int) -> str:
    circular = _asked(circular_id)
    shown = respondents.listing(db.session, circular, current().scope, page_number())
    return render_template("dashboard/respondents.html", circular=circular, shown=shown)


@bp.get("/circulars/<int:circular_id>/respondents.csv")
@login_required
def export(circular_id: int) -> Response:
    who = current()
    _asked(circular_id)
    audit.record(
        db.session,
        clock,
        who.member.id,
        "export.circular",
        "circular",
        circular_id,
        kind="respondents",
    )
    db.session.commit()
    header = ["名前", "自治会", "班", "選択肢", "人数", "ひとこと", "回答日時（日本時間）"]
    rows = (_cells(row) for row in respondents.every(db.session, circular_id, who.scope))
    return csv_response(f"circular-{circular_id}-respondents.csv", header, rows)


def _cells(row: Respondent) -> list[object]:
    text = "（役員のみ）" if row.text_hidden else (row.text or "")
    return [
        row.name or "",
        row.association_name or "",
        row.group_name or "",
        row.option or "",
        "" if row.count is None else row.count,
        text,
        row.answered_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") if row.answered_at else "",
    ]
