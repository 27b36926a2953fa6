"""安否確認 on the dashboard: the list of safety checks, starting one, and its live board.

Thin like every dashboard view: the rules are broadcasts.safety.checks's. The board's fragment is
fetched again every few seconds by safety.js, so answers appear without a reload; the page
works without it.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from broadcasts.circulars import targeting
from broadcasts.circulars.targeting import Target
from broadcasts.composing.drafts import CompositionError
from broadcasts.delivery.messages import area_label
from broadcasts.safety import checks
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.common import QuotaUnknown, line_quota
from linebot_app.dashboard.forms import SafetyForm
from linebot_app.dashboard.i18n import localized
from linebot_app.extensions import clock, db
from models import MAX_ID, Circular

bp = Blueprint("safety", __name__)

# "d:<district id>" or "a:<association id>": the one area a safety check goes to.
_AREA = re.compile(r"([da]):([1-9][0-9]{0,17})")


def _may_start() -> bool:
    return current().scope.may_send_urgent


def _area_choices() -> list[tuple[str, str]]:
    choices: list[tuple[str, str]] = []
    for district in targeting.allowed_target_tree(db.session, current().scope):
        if district.selectable:
            choices.append((f"d:{district.id}", f"{district.name}（{_('校区全体')}）"))
        choices.extend((f"a:{a.id}", f"{district.name} {a.name}") for a in district.associations)
    return choices


def _target(value: str | None) -> Target | None:
    match = _AREA.fullmatch(value or "")
    if match is None or int(match[2]) > MAX_ID:
        return None
    if match[1] == "d":
        return Target.of(districts=[int(match[2])])
    return Target.of(associations=[int(match[2])])


@bp.get("/safety")
@login_required
def safety_checks() -> str:
    may_start = _may_start()
    form = SafetyForm()
    form.area.choices = _area_choices() if may_start else []
    return render_template(
        "dashboard/safety_checks.html",
        checks=[(c, area_label(c)) for c in checks.checks(db.session, current().scope)],
        form=form,
        may_start=may_start,
    )


@bp.post("/safety")
@login_required
def safety_start() -> Response:
    form = SafetyForm()
    if not form.validate_on_submit():
        abort(400)
    if not _may_start():
        abort(403)
    target = _target(form.area.data)
    if target is None:
        flash(_("地域をえらんでください。"), "error")
        return redirect(url_for("dashboard.safety.safety_checks"))
    try:
        quota = line_quota()
    except QuotaUnknown:
        flash(
            _("LINE に問い合わせできませんでした。少し待ってからもう一度お試しください。"), "error"
        )
        return redirect(url_for("dashboard.safety.safety_checks"))
    try:
        started = checks.start(
            db.session, clock, current().member, target, quota, form.message.data
        )
    except CompositionError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return redirect(url_for("dashboard.safety.safety_checks"))
    if not started.release.released:
        # Nothing of a check that did not go out is kept: start it again when it can.
        db.session.rollback()
        reason = started.release.reason
        flash(localized(reason) if reason else _("送信できませんでした。"), "error")
        return redirect(url_for("dashboard.safety.safety_checks"))
    circular_id = started.circular.id
    db.session.commit()
    flash(_("安否確認を送りはじめました（%(n)s人）。", n=started.release.recipients), "info")
    return redirect(url_for("dashboard.safety.safety_board", circular_id=circular_id))


def _check(circular_id: int) -> Circular:
    scope = current().scope
    if not scope.may_see(db.session, circular_id):
        abort(404)
    circular = db.session.get_one(Circular, circular_id)
    if not circular.safety_check:
        abort(404)
    return circular


@bp.get("/safety/<int:circular_id>")
@login_required
def safety_board(circular_id: int) -> str:
    circular = _check(circular_id)
    board = checks.board(db.session, circular_id, current().scope)
    return render_template("dashboard/safety.html", circular=circular, board=board)


@bp.get("/safety/<int:circular_id>/board")
@login_required
def safety_board_fragment(circular_id: int) -> str:
    """The board alone, for safety.js to swap in."""
    _check(circular_id)
    board = checks.board(db.session, circular_id, current().scope)
    return render_template("dashboard/safety_board.html", board=board)
