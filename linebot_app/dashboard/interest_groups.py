"""Interest groups of an association or a district: the list with members and codes, a CSV of
it, creating and changing a group. For the staff who compose there (officers of the
association, promoters of the district, admins); anyone else gets the site's 404."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from broadcasts.interest_groups import groups
from broadcasts.interest_groups.groups import Area, GroupError
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.exports import csv_response
from linebot_app.dashboard.forms import InterestGroupForm
from linebot_app.dashboard.i18n import localized
from linebot_app.extensions import clock, db
from models import Association, District, InterestGroup, Posters

bp = Blueprint("interest_groups", __name__)

ASSOCIATION = "/associations/<int:association_id>/interest-groups"
DISTRICT = "/districts/<int:district_id>/interest-groups"


def _area(association_id: int | None, district_id: int | None) -> tuple[Area, str]:
    """The area and its name, if the viewer may manage its groups; else 404."""
    area = Area(association_id, district_id)
    place = (
        db.session.get(Association, association_id)
        if association_id is not None
        else db.session.get(District, district_id or 0)
    )
    if place is None or not groups.may_manage_in(db.session, current().scope, area):
        abort(404)
    return area, place.name


def _list_url(area: Area) -> str:
    if area.association_id is not None:
        return url_for("dashboard.interest_groups.listing", association_id=area.association_id)
    return url_for("dashboard.interest_groups.district_listing", district_id=area.district_id)


def _page(area: Area, name: str, form: InterestGroupForm, status: int = 200) -> tuple[str, int]:
    return (
        render_template(
            "dashboard/interest_groups.html",
            area=area,
            area_name=name,
            groups=groups.listing(db.session, area),
            form=form,
            list_url=_list_url(area),
        ),
        status,
    )


@bp.get(ASSOCIATION, endpoint="listing", defaults={"district_id": None})
@bp.get(DISTRICT, endpoint="district_listing", defaults={"association_id": None})
@login_required
def listing(association_id: int | None, district_id: int | None) -> tuple[str, int]:
    area, name = _area(association_id, district_id)
    return _page(area, name, InterestGroupForm(formdata=None))


@bp.post(ASSOCIATION, endpoint="create", defaults={"district_id": None})
@bp.post(DISTRICT, endpoint="district_create", defaults={"association_id": None})
@login_required
def create(association_id: int | None, district_id: int | None) -> Response | tuple[str, int]:
    area, name = _area(association_id, district_id)
    form = InterestGroupForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        groups.create(
            db.session, clock, current().member.id, area, form.name.data, Posters(form.posters.data)
        )
    except GroupError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return _page(area, name, form, status=400)
    db.session.commit()
    flash(_("グループを作りました。"), "info")
    return redirect(_list_url(area))


def _managed(group_id: int) -> InterestGroup:
    group = db.session.get(InterestGroup, group_id)
    if group is None:
        abort(404)
    _area(group.association_id, group.district_id)
    return group


@bp.get("/interest-groups/<int:group_id>")
@login_required
def edit(group_id: int) -> str:
    group = _managed(group_id)
    form = InterestGroupForm(formdata=None, name=group.name, posters=group.posters.value)
    return render_template(
        "dashboard/interest_group.html",
        group=group,
        code=groups.printed(group.join_code),
        form=form,
        list_url=_list_url(groups.area_of(group)),
    )


@bp.post("/interest-groups/<int:group_id>")
@login_required
def update(group_id: int) -> Response:
    group = _managed(group_id)
    form = InterestGroupForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        groups.change(
            db.session,
            clock,
            current().member.id,
            group,
            form.name.data,
            Posters(form.posters.data),
        )
    except GroupError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return redirect(url_for("dashboard.interest_groups.edit", group_id=group_id))
    db.session.commit()
    flash(_("グループを保存しました。"), "info")
    return redirect(_list_url(groups.area_of(group)))


@bp.get(ASSOCIATION + ".csv", endpoint="export", defaults={"district_id": None})
@bp.get(DISTRICT + ".csv", endpoint="district_export", defaults={"association_id": None})
@login_required
def export(association_id: int | None, district_id: int | None) -> Response:
    area, _name = _area(association_id, district_id)
    rows = [
        (listed.name, listed.members, listed.code or "")
        for listed in groups.listing(db.session, area)
    ]
    return csv_response("interest-groups.csv", ["グループ", "人数", "参加コード"], rows)
