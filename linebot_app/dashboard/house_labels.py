"""「世帯の表示名」: the households of an association (its officers, admins) or of a 班 (its
班長) with their labels, edited in place, and residents' requests to change theirs, approved or
declined (broadcasts.households.labels). Thin: scope check, service, render; writes commit once.
The label is personal data: the search word travels in the query string, which the access log
leaves out, and nothing here logs it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from broadcasts.households import labels
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.common import officer_association, page_number
from linebot_app.dashboard.forms import HouseLabelForm, LabelAnswerForm
from linebot_app.dashboard.i18n import localized
from linebot_app.extensions import clock, db
from linebot_app.ids import MAX_PAGE
from models import Association, Group, Resident

bp = Blueprint("house_labels", __name__)


@bp.get("/associations/<int:association_id>/labels")
@login_required
def association_labels(association_id: int) -> str:
    association = officer_association(association_id)
    return _page(association, None)


@bp.get("/groups/<int:group_id>/labels")
@login_required
def group_labels(group_id: int) -> str:
    """A 班's page: its 班長's, and its association's officers' and admins'."""
    scope = current().scope
    if not (scope.city or scope.leads_group(db.session, group_id)):
        abort(404)
    group = db.session.get(Group, group_id) or abort(404)
    return _page(group.association, group)


def _page(association: Association, group: Group | None) -> str:
    query = request.args.get("q", "")
    listing = labels.listing(
        db.session, association.id, group.id if group else None, query, page_number()
    )
    return render_template(
        "dashboard/house_labels.html",
        association=association,
        group=group,
        listing=listing,
        query=query,
        form=HouseLabelForm(formdata=None),
        answer_form=LabelAnswerForm(formdata=None),
        limit=labels.LABEL_LIMIT,
    )


@bp.post("/residents/<int:resident_id>/label")
@login_required
def set_label(resident_id: int) -> Response:
    form = HouseLabelForm()
    if not form.validate_on_submit():
        abort(400)
    resident = _resident(resident_id)
    try:
        labels.set_label(db.session, clock, current().scope, resident, form.label.data or "")
    except labels.NotYours:
        abort(404)
    except labels.LabelRefused as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return _back(resident_id, form)
    db.session.commit()
    flash(_("表示名を保存しました。"), "info")
    return _back(resident_id, form)


@bp.post("/residents/<int:resident_id>/label-request")
@login_required
def answer_request(resident_id: int) -> Response:
    form = LabelAnswerForm()
    if not form.validate_on_submit():
        abort(400)
    resident = _resident(resident_id)
    approve = form.answer.data == "approve"
    try:
        answered = labels.decide(
            db.session, clock, current().scope, resident, form.requested.data, approve
        )
    except labels.NotYours:
        abort(404)
    db.session.commit()
    if not answered:
        flash(_("このお願いは、もう答えが出ているか、住民が言い直しました。"), "info")
    elif approve:
        flash(_("表示名の変更を承認しました。"), "info")
    else:
        flash(_("表示名の変更を却下しました。"), "info")
    return _back(resident_id, form)


def _resident(resident_id: int) -> Resident:
    """The resident; the service answers whether the viewer may label them (NotYours: 404,
    as for an id that does not exist)."""
    return db.session.get(Resident, resident_id) or abort(404)


def _back(resident_id: int, form: HouseLabelForm | LabelAnswerForm) -> Response:
    """The page the form was on: the association's for its officers and admins, else the 班's."""
    resident = db.session.get_one(Resident, resident_id)
    scope = current().scope
    args: dict[str, Any] = {}
    if form.q.data:
        args["q"] = form.q.data
    if form.page.data and 1 < form.page.data <= MAX_PAGE:
        args["page"] = form.page.data
    association_id = resident.association_id
    if association_id is not None and (scope.city or scope.names_residents_of(association_id)):
        endpoint = "dashboard.house_labels.association_labels"
        return redirect(url_for(endpoint, association_id=association_id, **args))
    endpoint = "dashboard.house_labels.group_labels"
    return redirect(url_for(endpoint, group_id=resident.group_id, **args))
