"""Rolling out (issue #11): districts preparing or active, join codes and flyers, circular
templates (ひな形), and the adoption curve.

Thin like the other dashboard pages: the rules are broadcasts.rollout (activation, flyers,
adoption), join codes and templates; these views check the viewer's scope, call them, commit once.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from broadcasts.composing import templates
from broadcasts.composing.drafts import CompositionError
from broadcasts.residents import join_codes
from broadcasts.rollout import activation, adoption, flyers
from broadcasts.rollout.richmenu import FontMissingError
from broadcasts.staff import audit
from linebot_app.dashboard.auth import admin_required, current, login_required
from linebot_app.dashboard.charts import weekly
from linebot_app.dashboard.common import managed_circular, percent_cell
from linebot_app.dashboard.compose_form import fill_draft, render_form
from linebot_app.dashboard.exports import csv_response
from linebot_app.dashboard.forms import ComposeForm, ConfirmForm, SaveTemplateForm
from linebot_app.dashboard.i18n import localized
from linebot_app.extensions import clock, db, settings
from linebot_app.ids import id_value
from models import Association, District, FollowStatus, Group, Resident, Role

bp = Blueprint("rollout", __name__)


# --- districts: preparing or active (admins) ----------------------------------------------------


@bp.get("/districts")
@admin_required
def districts() -> str:
    rows = db.session.execute(
        select(District, func.count(Resident.id))
        .outerjoin(Association, Association.district_id == District.id)
        .outerjoin(
            Resident,
            (Resident.association_id == Association.id)
            & Resident.unregistered_at.is_(None)
            & (Resident.follow_status == FollowStatus.following),
        )
        .group_by(District.id)
        .order_by(District.kana, District.id)
    ).all()
    return render_template("dashboard/districts.html", rows=rows, form=ConfirmForm())


def _set_status(district_id: int, active: bool) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    district = db.session.get(District, district_id)
    if district is None:
        abort(404)
    change = (activation.activate if active else activation.prepare)(
        db.session, clock, current().member.id, district
    )
    db.session.commit()
    if not change.changed:
        flash(_("変更はありませんでした。"), "info")
    elif active:
        flash(
            _("%(name)sを開始しました。登録済みの %(n)s 人に、お知らせを送ります。")
            % {"name": district.name, "n": change.welcomes},
            "info",
        )
    else:
        flash(_("%(name)sを準備中に戻しました。") % {"name": district.name}, "info")
    return redirect(url_for("dashboard.rollout.districts"))


@bp.post("/districts/<int:district_id>/activate")
@admin_required
def district_activate(district_id: int) -> Response:
    return _set_status(district_id, active=True)


@bp.post("/districts/<int:district_id>/prepare")
@admin_required
def district_prepare(district_id: int) -> Response:
    return _set_status(district_id, active=False)


# --- join codes and flyers ----------------------------------------------------------------------


def _association(association_id: int) -> Association:
    """The association, if the viewer covers it wholly: a 班長 (who sees their association only
    through their 班) must not read or rotate the codes on other 班's flyers."""
    scope = current().scope
    if not scope.whole_areas().sees_association(db.session, association_id):
        abort(404)
    return db.session.get_one(Association, association_id)


def _group(association: Association) -> Group | None:
    """The group named by `?group=`, which must belong to the association."""
    if "group" not in request.args:
        return None
    group_id = request.args.get("group", type=id_value)
    group = db.session.get(Group, group_id) if group_id else None
    if group is None or group.association_id != association.id:
        abort(404)
    return group


@bp.get("/associations/<int:association_id>/join")
@login_required
def join_codes_page(association_id: int) -> str:
    association = _association(association_id)
    areas = [(None, join_codes.current(db.session, association, None))] + [
        (group, join_codes.current(db.session, association, group)) for group in association.groups
    ]
    return render_template(
        "dashboard/join_codes.html",
        association=association,
        areas=areas,
        printed=join_codes.printed,
        form=ConfirmForm(),
    )


@bp.post("/associations/<int:association_id>/join/rotate")
@login_required
def join_code_rotate(association_id: int) -> Response:
    association = _association(association_id)
    group = _group(association)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    replaced = join_codes.current(db.session, association, group) is not None
    join_codes.rotate(db.session, clock, current().member.id, association, group)
    db.session.commit()
    if replaced:
        flash(_("新しい参加コードにしました。前のコードはもう使えません。"), "info")
    else:
        flash(_("参加コードを作りました。"), "info")
    return redirect(url_for("dashboard.rollout.join_codes_page", association_id=association_id))


@bp.get("/associations/<int:association_id>/flyer.pdf")
@login_required
def join_flyer(association_id: int) -> Response:
    association = _association(association_id)
    group = _group(association)
    code = join_codes.current(db.session, association, group)
    if code is None:
        abort(404)
    add_friend_url = settings().add_friend_url
    if add_friend_url is None:
        # A set-up fault for the operator, like a missing font: said plainly, in both languages.
        return Response(
            "友だち追加のリンク（KAIRAN_ADD_FRIEND_URL）が設定されていないため、チラシを作れません。\n"
            "KAIRAN_ADD_FRIEND_URL is not set: the flyer would have no QR code to add the bot.\n",
            status=503,
            mimetype="text/plain",
        )
    flyer = flyers.Flyer(
        district=association.district.name,
        association=association.name,
        group=group.name if group else None,
        code=code.code,
        add_friend_url=add_friend_url,
    )
    try:
        pdf = flyers.render(flyer)
    except FontMissingError as error:
        return Response(str(error), status=500, mimetype="text/plain")
    name = f"flyer-{association.code}" + (f"-{group.id}" if group else "") + ".pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
    )


# --- circular templates -------------------------------------------------------------------------


@bp.get("/templates")
@login_required
def templates_page() -> str:
    member = current().member
    return render_template(
        "dashboard/templates.html",
        rows=templates.available(db.session, member),
        may_compose=current().scope.may_compose,
        form=ConfirmForm(),
    )


@bp.get("/compose/template/<int:template_id>")
@login_required
def compose_from_template(template_id: int) -> tuple[str, int]:
    """The compose form, filled in from the template; the author still chooses the areas."""
    member = current().member
    if not current().scope.may_compose:
        abort(403)
    template = templates.find(db.session, member, template_id)
    if template is None:
        abort(404)
    form = ComposeForm(formdata=None)
    draft = templates.draft_from(template, clock)
    fill_draft(form, draft)
    return render_form(form, {}, prefilled=draft.translations)


@bp.post("/templates/<int:template_id>/share")
@admin_required
def template_share(template_id: int) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    template = templates.find(db.session, current().member, template_id)
    if template is None:
        abort(404)
    templates.share(db.session, clock, current().member, template)
    db.session.commit()
    flash(_("市全体のひな形にしました。"), "info")
    return redirect(url_for("dashboard.rollout.templates_page"))


def _template_choices() -> list[tuple[str, str]]:
    member = current().member
    if current().is_admin:
        districts = db.session.scalars(select(District).order_by(District.kana, District.id))
        return [("", str(_("市全体")))] + [(str(d.id), d.name) for d in districts]
    ids = [r.district_id for r in member.roles if r.role is Role.promoter and r.district_id]
    districts = db.session.scalars(select(District).where(District.id.in_(ids)))
    return [(str(d.id), d.name) for d in districts]


@bp.route("/circulars/<int:circular_id>/save-template", methods=["GET", "POST"])
@login_required
def save_template(circular_id: int) -> Response | str:
    circular = managed_circular(circular_id)
    form = SaveTemplateForm()
    form.district.choices = _template_choices()
    if not form.district.choices:
        abort(403)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        district_id = int(form.district.data) if form.district.data else None
        try:
            templates.save_from_circular(db.session, clock, current().member, circular, district_id)
        except CompositionError as error:
            db.session.rollback()
            flash(localized(error.message), "error")
            return redirect(url_for("dashboard.rollout.save_template", circular_id=circular_id))
        db.session.commit()
        flash(_("ひな形として保存しました。"), "info")
        return redirect(url_for("dashboard.rollout.templates_page"))
    return render_template("dashboard/save_template.html", form=form, circular=circular)


# --- the adoption curve -------------------------------------------------------------------------


@bp.get("/adoption")
@login_required
def adoption_page() -> Response | str:
    scope = current().scope
    if scope.groups_only:
        # A 班長 sees their own 班 only, not their association's figures.
        return redirect(url_for("dashboard.paper.groups"))
    curve = adoption.curve(db.session, scope, clock.now())
    chart = weekly(curve.weeks, curve.total.registered, curve.total.households)
    district_charts = {
        row.id: weekly(curve.weeks, row.registered, row.households) for row in curve.districts
    }
    return render_template(
        "dashboard/adoption.html", curve=curve, chart=chart, district_charts=district_charts
    )


@bp.get("/adoption.csv")
@login_required
def export_adoption() -> Response:
    who = current()
    if who.scope.groups_only:
        abort(404)  # a 班長 sees their own 班 only
    audit.record(db.session, clock, who.member.id, "export.adoption", "association", None)
    db.session.commit()
    curve = adoption.curve(db.session, who.scope, clock.now())
    header = ["週", "区分", "校区", "自治会", "世帯数", "登録世帯", "登録率(%)"]
    body = []
    for i, week in enumerate(curve.weeks):
        for level, rows in (("校区", curve.districts), ("自治会", curve.associations)):
            for row in rows:
                share = row.registered[i] / row.households if row.households else None
                body.append(
                    [
                        week.isoformat(),
                        level,
                        row.district_name,
                        row.name if level == "自治会" else "",
                        row.households,
                        row.registered[i],
                        percent_cell(share),
                    ]
                )
    return csv_response("adoption.csv", header, body)
