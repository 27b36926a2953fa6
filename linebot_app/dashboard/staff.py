"""Staff and the audit log, for admins: who holds which role, invite codes for new roles,
removing a role, and the record of what staff did."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import Row, select
from werkzeug.wrappers import Response

from broadcasts.core.i18n import Refused
from broadcasts.staff import audit
from broadcasts.staff import invites as staff_invites
from linebot_app.dashboard.auth import admin_required, current
from linebot_app.dashboard.common import page_number
from linebot_app.dashboard.forms import ConfirmForm, InviteForm
from linebot_app.dashboard.i18n import localized
from linebot_app.extensions import clock, db
from models import Role, StaffMember, StaffRole

bp = Blueprint("staff", __name__)


def _roles() -> Sequence[Row[StaffRole, StaffMember]]:
    """Every role with its holder, by role and name."""
    return db.session.execute(
        select(StaffRole, StaffMember)
        .join(StaffMember, StaffMember.id == StaffRole.staff_member_id)
        .order_by(StaffRole.role, StaffMember.display_name, StaffRole.id)
    ).all()


@bp.get("/staff")
@admin_required
def staff() -> str:
    return render_template(
        "dashboard/staff.html",
        roles=_roles(),
        form=InviteForm(),
        remove_form=ConfirmForm(),
        invite=None,
    )


@bp.post("/staff/invite")
@admin_required
def staff_invite() -> Response | str:
    who = current()
    form = InviteForm()
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
        )
    except staff_invites.InviteError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("dashboard.staff.staff"))
    audit.record(
        db.session, clock, who.member.id, "role.invited", "staff_invite", None, role=role.value
    )
    db.session.commit()
    return render_template(
        "dashboard/staff.html",
        roles=_roles(),
        form=InviteForm(formdata=None),
        remove_form=ConfirmForm(),
        invite=invite,
    )


@bp.post("/staff/roles/<int:role_id>/remove")
@admin_required
def remove_role(role_id: int) -> Response:
    who = current()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    role = db.session.get(StaffRole, role_id)
    if role is None:
        abort(404)
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
    return redirect(url_for("dashboard.staff.staff"))


@bp.get("/audit")
@admin_required
def audit_log() -> str:
    page = page_number()
    entries = audit.latest(db.session, limit=100, offset=(page - 1) * 100)
    return render_template("dashboard/audit.html", entries=entries, page=page)
