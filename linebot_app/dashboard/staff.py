"""Staff, for everyone who may appoint someone (issue #20, items 3 and 4): an admin invites
anyone; a promoter officers and 班長 in their districts; an officer 班長 in their association
(broadcasts.staff.invites.may_appoint). Also: removing and handing over roles, a CSV of staff
printed as invite letters, the roles ending within 30 days, and (admins) the audit log.

A role the viewer may not manage answers 404, whether or not it exists, as everywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import Row, select
from werkzeug.wrappers import Response

from broadcasts.core.i18n import Refused
from broadcasts.staff import audit, letters, roster, terms
from broadcasts.staff import invites as staff_invites
from broadcasts.staff.invites import Invite
from linebot_app.dashboard.auth import Viewer, admin_required, current, login_required
from linebot_app.dashboard.common import page_number
from linebot_app.dashboard.exports import csv_response
from linebot_app.dashboard.forms import ConfirmForm, HandOverForm, InviteForm, StaffFileForm
from linebot_app.dashboard.i18n import localized
from linebot_app.dashboard.labels import role_label
from linebot_app.extensions import clock, db, settings
from models import MAX_ID, Role, StaffMember, StaffRole

bp = Blueprint("staff", __name__)


def _appointer() -> Viewer:
    """The viewer, if they may appoint anyone (not a 班長 alone)."""
    who = current()
    if not staff_invites.appointable_roles(who.scope):
        abort(404)
    return who


def _roles(who: Viewer) -> Sequence[Row[StaffRole, StaffMember]]:
    """The roles the viewer sees: every role for an admin; else the roles in their areas, and
    their own. By role and name."""
    query = select(StaffRole, StaffMember).join(
        StaffMember, StaffMember.id == StaffRole.staff_member_id
    )
    if not who.is_admin:
        query = query.where(terms.covered(who.scope) | (StaffRole.staff_member_id == who.member.id))
    return db.session.execute(
        query.order_by(StaffRole.role, StaffMember.display_name, StaffRole.id)
    ).all()


def _invite_form(who: Viewer, blank: bool = False) -> InviteForm:
    form = InviteForm(formdata=None) if blank else InviteForm()
    form.limit_roles([role.value for role in staff_invites.appointable_roles(who.scope)])
    return form


def _page(who: Viewer, form: InviteForm, invite: Invite | None = None, **extra: Any) -> str:
    roles = _roles(who)
    manageable = {
        role.id
        for role, _member in roles
        if staff_invites.may_manage_role(db.session, who.scope, role)
    }
    handed = {
        role.id
        for role, _member in roles
        if staff_invites.may_hand_over(db.session, who.scope, role)
    }
    return render_template(
        "dashboard/staff.html",
        roles=roles,
        manageable=manageable,
        handed=handed,
        form=form,
        remove_form=ConfirmForm(),
        file_form=StaffFileForm(formdata=None),
        invite=invite,
        last_day=terms.last_day,
        **extra,
    )


@bp.get("/staff")
@login_required
def staff() -> str:
    who = _appointer()
    return _page(who, _invite_form(who))


@bp.post("/staff/invite")
@login_required
def staff_invite() -> Response | str:
    who = _appointer()
    form = _invite_form(who)
    if not form.validate_on_submit():
        abort(400)
    role = Role(form.role.data)
    try:
        invite = staff_invites.create_invite(
            db.session,
            clock,
            role,
            form.district_code.data or None,
            form.association_code.data or None,
            form.group_name.data or None,
            inviter=who.scope,
            invitee_name=(form.invitee_name.data or "").strip()[:100] or None,
            role_ends_at=terms.ends_at(form.term_end.data),
        )
    except staff_invites.InviteError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("dashboard.staff.staff"))
    audit.record(
        db.session, clock, who.member.id, "role.invited", "staff_invite", None, role=role.value
    )
    db.session.commit()
    return _page(who, _invite_form(who, blank=True), invite)


def _managed_role(role_id: int, allowed: Any) -> tuple[Viewer, StaffRole]:
    who = current()
    role = db.session.get(StaffRole, role_id) if role_id <= MAX_ID else None
    if role is None or not allowed(db.session, who.scope, role):
        abort(404)
    return who, role


@bp.post("/staff/roles/<int:role_id>/remove")
@login_required
def remove_role(role_id: int) -> Response:
    who, role = _managed_role(role_id, staff_invites.may_manage_role)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    member_id = role.staff_member_id
    audit.record(
        db.session,
        clock,
        who.member.id,
        "role.removed",
        "staff_member",
        member_id,
        role=role.role.value,
        district_id=role.district_id,
        association_id=role.association_id,
        group_id=role.group_id,
    )
    try:
        staff_invites.remove_role(db.session, role)
    except Refused as refusal:
        # The audit entry goes with it: nothing was removed.
        db.session.rollback()
        flash(localized(refusal.message), "error")
        return redirect(url_for("dashboard.staff.staff"))
    db.session.commit()
    flash(_("役割を外しました。"), "info")
    if member_id == who.member.id:
        # One's own role: this session ended with it.
        return redirect(url_for("dashboard.login_help"))
    return redirect(url_for("dashboard.staff.staff"))


@bp.route("/staff/roles/<int:role_id>/hand-over", methods=["GET", "POST"])
@login_required
def hand_over(role_id: int) -> Response | str:
    """The form (GET), and the successor's code (POST). One rule for both methods: with two,
    a POST whose id is past the id columns would answer 405 instead of 404."""
    who, role = _managed_role(role_id, staff_invites.may_hand_over)
    invite: Invite | None = None
    if request.method == "POST":
        form = HandOverForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            invite = staff_invites.hand_over(
                db.session,
                clock,
                who.scope,
                role,
                invitee_name=(form.invitee_name.data or "").strip()[:100] or None,
                role_ends_at=terms.ends_at(form.term_end.data),
            )
        except staff_invites.InviteError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("dashboard.staff.hand_over", role_id=role_id))
        audit.record(
            db.session,
            clock,
            who.member.id,
            "role.invited",
            "staff_member",
            role.staff_member_id,
            role=role.role.value,
            district_id=role.district_id,
            association_id=role.association_id,
            group_id=role.group_id,
        )
        db.session.commit()
    return render_template(
        "dashboard/hand_over.html",
        role=role,
        area=terms.area_name(role),
        form=HandOverForm(formdata=None),
        invite=invite,
    )


@bp.post("/staff/import")
@login_required
def staff_import() -> Response | str:
    """A CSV of staff becomes invite letters (one PDF, a page each); a file with any bad row
    creates nothing and names every bad line."""
    who = _appointer()
    form = StaffFileForm()
    if not form.validate_on_submit() or form.file.data is None:
        abort(400)
    add_friend_url = settings().add_friend_url
    if add_friend_url is None:
        return Response(
            "友だち追加のリンク（KAIRAN_ADD_FRIEND_URL）が設定されていないため、招待状を作れません。\n"
            "KAIRAN_ADD_FRIEND_URL is not set: the letters would have no QR code to add the bot.\n",
            status=503,
            mimetype="text/plain",
        )
    data = form.file.data.read()
    try:
        rows = roster.read(db.session, clock, who.scope, data)
    except roster.StaffFileError as error:
        db.session.rollback()
        return Response(
            _page(who, _invite_form(who, blank=True), problems=error.problems), status=400
        )
    issued = roster.invite_all(db.session, clock, who.scope, rows)
    pdf = letters.render(issued, add_friend_url)
    audit.record(
        db.session, clock, who.member.id, "staff.imported", "staff_invite", None, count=len(issued)
    )
    db.session.commit()
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": 'attachment; filename="kairan-invite-letters.pdf"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/staff/ending")
@login_required
def ending() -> str:
    who = _appointer()
    return render_template(
        "dashboard/staff_ending.html",
        districts=terms.ending_soon(db.session, clock, who.scope),
        days=terms.ENDING_SOON.days,
    )


@bp.get("/staff/ending.csv")
@login_required
def ending_csv() -> Response:
    who = _appointer()
    rows = [
        (
            group.district or _("市全体"),
            role_label(role.role),
            role.area,
            role.holder or "",
            role.last_day.isoformat(),
        )
        for group in terms.ending_soon(db.session, clock, who.scope)
        for role in group.roles
    ]
    return csv_response(
        "roles-ending.csv",
        [_("校区"), _("役割"), _("範囲"), _("名前"), _("任期の最後の日")],
        rows,
    )


@bp.get("/audit")
@admin_required
def audit_log() -> str:
    page = page_number()
    entries = audit.latest(db.session, limit=100, offset=(page - 1) * 100)
    return render_template("dashboard/audit.html", entries=entries, page=page)
