"""「LINEグループ」: an association's LINE groups (broadcasts.rollout.line_groups) — the link code
an officer types in the group, the groups linked with their member counts, and 「退出」, which
unlinks a group and asks LINE for the bot to leave it. Its officers' and admins' page only;
anyone else gets 404. The code is shown once, in the answer to the POST that issued it."""

from __future__ import annotations

import logging

import urllib3
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from broadcasts.rollout import line_groups
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.common import officer_association
from linebot_app.dashboard.forms import ConfirmForm
from linebot_app.extensions import clock, db, line
from models import Association, LineGroup

bp = Blueprint("line_groups", __name__)
log = logging.getLogger(__name__)


@bp.get("/associations/<int:association_id>/line-groups")
@login_required
def page(association_id: int) -> str:
    return _render(officer_association(association_id), code=None)


@bp.post("/associations/<int:association_id>/line-groups/code")
@login_required
def issue_code(association_id: int) -> str:
    association = officer_association(association_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    code = line_groups.issue_code(db.session, clock, current().scope, association.id)
    db.session.commit()
    return _render(association, code=code)


@bp.post("/line-groups/<int:group_id>/leave")
@login_required
def leave(group_id: int) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        line_group_id = line_groups.ask_to_leave(db.session, clock, current().scope, group_id)
    except line_groups.NotYours:
        abort(404)
    association_id = _association_of(group_id)
    # Unlinked first: nothing more is posted there even if LINE cannot be reached now.
    db.session.commit()
    if _leave_in_line(line_group_id):
        flash(_("LINEグループから退出しました。"), "info")
    else:
        flash(_("連携は解除しました。LINEグループからの退出はできませんでした。"), "error")
    return redirect(url_for("dashboard.line_groups.page", association_id=association_id))


def _association_of(group_id: int) -> int:
    return db.session.get_one(LineGroup, group_id).association_id


def _leave_in_line(line_group_id: str) -> bool:
    from linebot.v3.messaging import ApiException

    client = line()
    try:
        client.api.leave_group(line_group_id, _request_timeout=client.timeout)
    except ApiException as error:
        # 404: the bot was already out of the group.
        return bool(error.status == 404)
    except (urllib3.exceptions.HTTPError, OSError) as error:
        log.warning("leaving a group failed (%s)", type(error).__name__)
        return False
    return True


def _render(association: Association, code: str | None) -> str:
    return render_template(
        "dashboard/line_groups.html",
        association=association,
        groups=line_groups.of_association(db.session, association.id),
        code=code,
        valid_hours=int(line_groups.CODE_VALID_FOR.total_seconds() // 3600),
        form=ConfirmForm(),
    )
