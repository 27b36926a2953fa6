"""Answering a resident's disclosure or deletion request (個人情報の開示・削除の請求), for admins:
by the resident's LINE user id, the JSON of every personal field, or anonymising them. Both are
in the audit log with the resident's id only (docs/privacy.md)."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from broadcasts.residents import privacy
from broadcasts.staff import audit
from linebot_app.dashboard.auth import admin_required, current
from linebot_app.dashboard.forms import EraseForm, ResidentLookupForm
from linebot_app.extensions import clock, db
from models import Resident

bp = Blueprint("privacy", __name__)


def _page(status: int = 200) -> tuple[str, int]:
    page = render_template(
        "dashboard/privacy.html", export_form=ResidentLookupForm(), erase_form=EraseForm()
    )
    return page, status


def _resident(line_user_id: str) -> Resident | None:
    resident = privacy.find(db.session, line_user_id.strip())
    if resident is None:
        flash(_("このLINEユーザーIDの住民はいません（解除・削除済みかもしれません）。"), "error")
    return resident


@bp.get("/privacy")
@admin_required
def privacy_page() -> tuple[str, int]:
    return _page()


@bp.post("/privacy/export")
@admin_required
def export() -> Response | tuple[str, int]:
    form = ResidentLookupForm()
    if not form.validate_on_submit():
        abort(400)
    resident = _resident(form.line_user_id.data)
    if resident is None:
        return _page(404)
    data = privacy.export(db.session, resident)
    audit.record(
        db.session, clock, current().member.id, "resident.exported", "resident", resident.id
    )
    db.session.commit()
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="resident-{resident.id}.json"'},
    )


@bp.post("/privacy/erase")
@admin_required
def erase() -> Response | tuple[str, int]:
    form = EraseForm()
    if not form.validate_on_submit():
        abort(400)
    resident = _resident(form.line_user_id.data)
    if resident is None:
        return _page(404)
    try:
        erased = privacy.erase(db.session, clock, resident)
    except privacy.ErasureRefused:
        db.session.rollback()
        flash(
            _("このLINEアカウントは職員でもあります。先に「職員」で役割を外してください。"),
            "error",
        )
        return _page(409)
    audit.record(
        db.session, clock, current().member.id, "resident.erased", "resident", erased.resident_id
    )
    db.session.commit()
    flash(
        _("住民 #%(id)s の個人情報を消しました。配信と確認の件数は集計に残ります。")
        % {"id": erased.resident_id},
        "info",
    )
    return redirect(url_for("dashboard.privacy.privacy_page"))
