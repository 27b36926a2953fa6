"""The dashboard's pages. Thin: find the viewer's scope, call a service, render; the few that
write commit once at the end. Anything outside the viewer's scope answers 404, whether or not
it exists, so guessing ids tells nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask import session as http_session
from flask_babel import get_locale, pgettext
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from broadcasts.circulars import drafts, lifecycle
from broadcasts.core.clock import TOKYO, SystemClock
from broadcasts.core.i18n import Refused
from broadcasts.households import families, paper
from broadcasts.schedule.reminders import scheduled
from broadcasts.schedule.rules import SAFETY_REMINDERS, QuietHours
from broadcasts.staff import audit, logins
from broadcasts.staff import invites as staff_invites
from broadcasts.staff.scope import Scope
from broadcasts.stats import figures
from linebot_app.dashboard import charts
from linebot_app.dashboard.auth import (
    admin_required,
    current,
    log_in,
    log_out,
    login_required,
    viewer,
)
from linebot_app.dashboard.exports import csv_response
from linebot_app.dashboard.forms import ConfirmForm, InviteForm, PaperHouseholdsForm
from linebot_app.dashboard.i18n import LANGUAGE_KEY, LOCALES, localized
from linebot_app.dashboard.links import same_site_path
from linebot_app.extensions import db, line, settings
from linebot_app.ids import id_value, page_value
from models import Association, Circular, CircularStatus, Role, StaffMember, StaffRole

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

clock = SystemClock()


# --- logging in and out -------------------------------------------------------------------------


@bp.get("/login")
def login_help() -> str:
    """Where anyone not logged in lands: how to get a link."""
    return render_template("dashboard/login_help.html")


@bp.get("/login/<token>")
def login_link(token: str) -> str:
    """Shows a button; only the POST uses the link up, so a link preview cannot spend it."""
    return render_template("dashboard/login.html", form=ConfirmForm(), token=token)


@bp.post("/login/<token>")
def login(token: str) -> Response | tuple[str, int]:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    staff_member_id = logins.redeem(db.session, clock, token)
    if staff_member_id is None:
        db.session.rollback()
        return render_template("dashboard/login_failed.html"), 400
    log_in(staff_member_id)
    db.session.commit()
    return redirect(url_for("dashboard.index"))


@bp.post("/logout")
def logout() -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    log_out()
    db.session.commit()
    return redirect(url_for("dashboard.login_help"))


@bp.get("/language/<code>")
def language(code: str) -> Response:
    if code in LOCALES:
        http_session[LANGUAGE_KEY] = code
    return redirect(same_site_path(request.args.get("next"), url_for("dashboard.index")))


# --- circulars ----------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index() -> str:
    page = max(request.args.get("page", 1, type=page_value) or 1, 1)
    rows = figures.circulars(db.session, current().scope, limit=50, offset=(page - 1) * 50)
    may_compose = current().scope.may_compose
    return render_template(
        "dashboard/circulars.html",
        rows=rows,
        page=page,
        may_compose=may_compose,
        editable=drafts.EDITABLE,
    )


def _circular(circular_id: int, scope: Scope) -> Circular:
    if not scope.may_see(db.session, circular_id):
        abort(404)
    return db.session.get_one(Circular, circular_id)


@bp.get("/circulars/<int:circular_id>")
@login_required
def circular_stats(circular_id: int) -> str:
    scope = current().scope
    circular = _circular(circular_id, scope)
    rows = figures.breakdown(db.session, circular_id, scope)
    counts = figures.total(rows)
    # A city-wide circular reaches ~1,500 班: nobody reads that many rows. The page lists
    # districts and associations, and the 班 (breakdown and coverage) of one association when
    # it is opened, or when there is only one; the CSV export has every row.
    reached = (
        paper.associations_reached(db.session, circular, scope) if circular.released_at else []
    )
    in_view = {row.id for row in rows if row.level == "association"} | {a for a, _ in reached}
    in_view.discard(None)
    opened = request.args.get("association", type=id_value)
    if len(in_view) == 1:
        opened = next(iter(in_view))
    elif opened not in in_view:
        opened = None
    rows = [row for row in rows if row.level != "group" or row.association_id == opened]
    # Associations reached only on paper (no LINE resident yet) have no row to open them by.
    listed = {row.id for row in rows if row.level == "association"}
    paper_only = [(a, name) for a, name in reached if a not in listed]
    points = figures.confirmations_over_time(db.session, circular_id, scope)
    now = clock.now()
    chart = (
        charts.cumulative(points, circular.released_at, now, counts.delivered)
        if circular.released_at
        else None
    )
    tallies = figures.answer_tallies(db.session, circular_id, scope)
    failures = figures.failures(db.session, circular_id, scope)
    household_counts = families.summary(db.session, circular_id, scope, figures.alone(rows))
    coverage = (
        paper.coverage(db.session, circular, scope, opened)
        if circular.released_at and opened is not None
        else []
    )
    leads = scope.led_groups(db.session, (row.group_id for row in coverage))
    released_at = circular.released_at
    title = circular.title
    status = circular.status
    hold_reason = circular.hold_reason
    quiet = QuietHours.parse(settings().KAIRAN_QUIET_HOURS)
    reminders = [
        (slot, at)
        for slot, at in scheduled(db.session, circular, quiet)
        if at > now and circular.status is not CircularStatus.cancelled
    ]
    officer_of = sorted(a for a in scope.association_ids if scope.sees_association(db.session, a))
    manages = scope.may_manage(db.session, circular)
    can_edit = manages and status in drafts.EDITABLE
    can_correct = manages and status in lifecycle.CORRECTABLE
    # Paused (the card or a reminder met the monthly limit, or LINE refused the token).
    can_resume = manages and status in lifecycle.CORRECTABLE and hold_reason is not None
    # The read transaction ends before LINE is asked: no connection waits on the network.
    db.session.rollback()
    line_stats = None
    line_asked = released_at is not None
    if released_at is not None:
        line_stats = figures.line_statistics(
            line(), circular_id, released_at, now.astimezone(TOKYO).date()
        )
    return render_template(
        "dashboard/stats.html",
        circular_id=circular_id,
        title=title,
        status=status,
        hold_reason=hold_reason,
        released_at=released_at,
        counts=counts,
        rows=rows,
        opened=opened,
        # Built once: url_for for each of 500 associations was a tenth of the page.
        page_url=url_for("dashboard.circular_stats", circular_id=circular_id),
        paper_only=paper_only if opened is None else [],
        chart=chart,
        tallies=tallies,
        failures=failures,
        line_stats=line_stats,
        line_asked=line_asked,
        threshold=figures.LINE_PRIVACY_THRESHOLD,
        officer_of=officer_of,
        can_edit=can_edit,
        can_correct=can_correct,
        can_resume=can_resume,
        resume_form=ConfirmForm(),
        household_counts=household_counts,
        coverage=coverage,
        leads=leads,
        reminders=reminders,
        reminder_labels={
            "reminder-1": _("確認のお願い（1回目）"),
            "reminder-2": _("確認のお願い（2回目）"),
            "deadline": _("回答しめきりの前日"),
            "event": _("行事の前日"),
            **{
                f"safety-{n}": _("安否確認のお知らせ（%(n)s回目）", n=n)
                for n in range(1, SAFETY_REMINDERS + 1)
            },
        },
    )


@bp.get("/circulars/<int:circular_id>/progress")
@login_required
def circular_progress(circular_id: int) -> Response:
    scope = current().scope
    circular = _circular(circular_id, scope)
    counts = figures.summary(db.session, circular_id, scope)
    return jsonify(
        status=circular.status.value,
        recipients=counts.recipients,
        delivered=counts.delivered,
        finished=counts.finished,
        failed=counts.failed,
        confirmed=counts.confirmed,
    )


@bp.get("/circulars/<int:circular_id>/not-confirmed")
@login_required
def not_confirmed(circular_id: int) -> str:
    scope = current().scope
    circular = _circular(circular_id, scope)
    association_id = request.args.get("association", type=id_value)
    if association_id is None and len(scope.association_ids) == 1:
        association_id = next(iter(scope.association_ids))
    # Names are for an association's own officers only.
    if association_id is None or not scope.names_residents_of(association_id):
        abort(404)
    association = db.session.get_one(Association, association_id)
    residents = figures.not_confirmed(db.session, circular_id, association_id)
    return render_template(
        "dashboard/not_confirmed.html",
        circular=circular,
        association=association,
        residents=residents,
    )


# --- exports ------------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _circular_export(circular_id: int, kind: str) -> Scope:
    """The viewer's scope for exporting a circular they may see, the export audited and
    committed (the rows are read afterwards, in a fresh transaction)."""
    who = current()
    _circular(circular_id, who.scope)
    audit.record(
        db.session, clock, who.member.id, "export.circular", "circular", circular_id, kind=kind
    )
    db.session.commit()
    return who.scope


@bp.get("/circulars/<int:circular_id>/stats.csv")
@login_required
def export_stats(circular_id: int) -> Response:
    scope = _circular_export(circular_id, "stats")
    rows = figures.breakdown(db.session, circular_id, scope)
    counts = figures.total(rows)
    header = [
        "区分",
        "校区",
        "自治会",
        "班",
        "配信対象",
        "配信済み",
        "開封",
        "確認",
        "回答",
        "失敗",
        "開封率(%)",
        "確認率(%)",
        "回答率(%)",
    ]

    def line_of(level: str, d: str, a: str, g: str, c: figures.Counts) -> list[Any]:
        return [
            level,
            d,
            a,
            g,
            c.recipients,
            c.delivered,
            c.opened,
            c.confirmed,
            c.answered,
            c.failed,
            _percent(c.opened_rate),
            _percent(c.confirmed_rate),
            _percent(c.answered_rate),
        ]

    body = [line_of("合計", "", "", "", counts)]
    for row in rows:
        if row.level == "district":
            body.append(line_of("校区", row.name, "", "", row.counts))
        elif row.level == "association":
            body.append(line_of("自治会", row.district_name, row.name, "", row.counts))
        else:
            body.append(
                line_of("班", row.district_name, row.association_name, row.name, row.counts)
            )
    return csv_response(f"circular-{circular_id}-stats.csv", header, body)


@bp.get("/circulars/<int:circular_id>/answers.csv")
@login_required
def export_answers(circular_id: int) -> Response:
    scope = _circular_export(circular_id, "answers")
    tallies = figures.answer_tallies(db.session, circular_id, scope)
    counts = figures.summary(db.session, circular_id, scope)
    body = [[t.position, t.label, t.count, _percent(counts.rate(t.count))] for t in tallies]
    return csv_response(
        f"circular-{circular_id}-answers.csv",
        ["番号", "選択肢", "回答数", "配信済みに対する割合(%)"],
        body,
    )


# --- associations and reach ---------------------------------------------------------------------


@bp.get("/associations")
@login_required
def associations() -> Response | str:
    scope = current().scope
    if scope.groups_only:
        # A 班長 sees their own 班 only, not their association's figures.
        return redirect(url_for("dashboard.groups"))
    reach = figures.reach_by_association(db.session, scope)
    districts = figures.reach_by_district(db.session, scope) if not scope.association_ids else []
    return render_template(
        "dashboard/associations.html",
        reach=reach,
        districts=districts,
        editable=set(scope.association_ids) if not scope.city else {r.id for r in reach},
        by_group=paper.kept_per_group(db.session, [r.id for r in reach]),
        form=PaperHouseholdsForm(),
    )


@bp.post("/associations/<int:association_id>/paper")
@login_required
def paper_households(association_id: int) -> Response:
    who = current()
    if not (who.scope.city or who.scope.names_residents_of(association_id)):
        abort(404)
    association = db.session.get(Association, association_id)
    if association is None:
        abort(404)
    if paper.kept_per_group(db.session, [association_id]):
        # Kept per 班 (paper_views): the association's count follows the groups'.
        abort(400)
    form = PaperHouseholdsForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        figures.set_paper_households(db.session, association, int(form.paper_households.data))
    except ValueError:
        db.session.rollback()
        flash(_("紙の世帯数は 0 から世帯数までの数にしてください。"), "error")
        return redirect(url_for("dashboard.associations"))
    audit.record(
        db.session,
        clock,
        who.member.id,
        "association.paper_households",
        "association",
        association_id,
        count=int(form.paper_households.data),
    )
    db.session.commit()
    flash(_("紙の世帯数を保存しました。"), "info")
    return redirect(url_for("dashboard.associations"))


@bp.get("/associations.csv")
@login_required
def export_reach() -> Response:
    who = current()
    if who.scope.groups_only:
        abort(404)  # a 班長 sees their own 班 only
    reach = figures.reach_by_association(db.session, who.scope)
    audit.record(db.session, clock, who.member.id, "export.reach", "association", None)
    db.session.commit()
    header = [
        "校区",
        "自治会",
        "世帯数",
        "LINE登録者",
        "紙の世帯",
        "到達率(%)",
        "デジタル率(%)",
    ]
    body = [
        [
            r.district_name,
            r.name,
            r.households,
            r.registered,
            r.paper,
            _percent(r.reach),
            _percent(r.digital_share),
        ]
        for r in reach
    ]
    return csv_response("reach.csv", header, body)


# --- staff and audit (admins) -------------------------------------------------------------------


@bp.get("/staff")
@admin_required
def staff() -> str:
    roles = db.session.execute(
        select(StaffRole, StaffMember)
        .join(StaffMember, StaffMember.id == StaffRole.staff_member_id)
        .order_by(StaffRole.role, StaffMember.display_name, StaffRole.id)
    ).all()
    return render_template(
        "dashboard/staff.html",
        roles=roles,
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
        return redirect(url_for("dashboard.staff"))
    audit.record(
        db.session, clock, who.member.id, "role.invited", "staff_invite", None, role=role.value
    )
    db.session.commit()
    roles = db.session.execute(
        select(StaffRole, StaffMember)
        .join(StaffMember, StaffMember.id == StaffRole.staff_member_id)
        .order_by(StaffRole.role, StaffMember.display_name, StaffRole.id)
    ).all()
    return render_template(
        "dashboard/staff.html",
        roles=roles,
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
        return redirect(url_for("dashboard.staff"))
    db.session.commit()
    flash(_("役割を外しました。"), "info")
    return redirect(url_for("dashboard.staff"))


@bp.get("/audit")
@admin_required
def audit_log() -> str:
    page = max(request.args.get("page", 1, type=page_value) or 1, 1)
    entries = audit.latest(db.session, limit=100, offset=(page - 1) * 100)
    return render_template("dashboard/audit.html", entries=entries, page=page)


# --- template helpers ---------------------------------------------------------------------------


@bp.app_template_filter("tokyo")
def tokyo(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


bp.add_app_template_filter(localized, "localized")


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def status_label(status: CircularStatus) -> str:
    labels = {
        CircularStatus.draft: _("下書き"),
        CircularStatus.scheduled: _("予約"),
        CircularStatus.sending: _("送信中"),
        CircularStatus.sent: _("送信済み"),
        CircularStatus.cancelled: _("取り消し"),
    }
    return str(labels[status])


def role_label(role: Role) -> str:
    labels = {
        Role.admin: _("管理者"),
        Role.promoter: _("ICT推進員"),
        Role.officer: _("自治会役員"),
        Role.group_leader: _("班長"),
    }
    return str(labels[role])


def action_label(action: str) -> str:
    labels = {
        "circular.composed": _("回覧を作成"),
        "circular.scheduled": _("回覧を予約"),
        "circular.sent": _("回覧を送信"),
        "circular.cancelled": _("回覧を取り消し"),
        "export.circular": _("回覧の集計を保存"),
        "export.reach": _("到達率を保存"),
        "role.invited": _("招待コードを作成"),
        "role.removed": _("役割を外す"),
        "role.granted": _("役割を付与"),
        "association.paper_households": _("紙の世帯数を変更"),
        "district.activated": _("校区を開始"),
        "district.prepared": _("校区を準備中に戻す"),
        "join_code.rotated": _("参加コードを発行"),
        "template.saved": _("ひな形を保存"),
        "template.shared": _("ひな形を市全体で共有"),
        "export.adoption": _("登録の推移を保存"),
        "group.paper_households": _("班の紙の世帯を変更"),
        "association.watch_over": _("見守りの設定を変更"),
        "paper.proxy_confirmed": _("代理確認"),
        "paper.proxy_undone": _("代理確認を取り消し"),
    }
    return str(labels.get(action, action))


# The audit log's words carry the context "audit": there 回覧 is one circular, not the
# "Circulars" of the menu.
def subject_label(subject_type: str) -> str:
    labels = {
        "district": pgettext("audit", "校区"),
        "association": pgettext("audit", "自治会"),
        "group": pgettext("audit", "班"),
        "circular": pgettext("audit", "回覧"),
        "template": pgettext("audit", "ひな形"),
        "staff_member": pgettext("audit", "担当者"),
        "staff_invite": pgettext("audit", "招待コード"),
    }
    return str(labels.get(subject_type, subject_type))


def detail_label(key: str) -> str:
    labels = {
        "recipients": pgettext("audit", "送信人数"),
        "count": pgettext("audit", "件数"),
        "role": pgettext("audit", "役割"),
        "kind": pgettext("audit", "種類"),
        "enabled": pgettext("audit", "見守り"),
        "district_id": pgettext("audit", "校区"),
        "association_id": pgettext("audit", "自治会"),
        "group": pgettext("audit", "班"),
        "group_id": pgettext("audit", "班"),
        "circular": pgettext("audit", "回覧"),
        "corrects": pgettext("audit", "訂正した回覧"),
        "paper_household_id": pgettext("audit", "紙の世帯"),
    }
    return str(labels.get(key, key))


def detail_value(key: str, value: audit.Detail) -> str:
    if key == "role" and value in {role.value for role in Role}:
        return role_label(Role(value))
    if isinstance(value, bool):
        return str(pgettext("audit", "オン") if value else pgettext("audit", "オフ"))
    kinds = {"stats": pgettext("audit", "集計"), "answers": pgettext("audit", "回答")}
    if key == "kind" and isinstance(value, str) and value in kinds:
        return str(kinds[value])
    return str(value)


@bp.context_processor
def inject() -> dict[str, Any]:
    return {
        "viewer": viewer(),
        "nav_form": ConfirmForm(),
        "CircularStatus": CircularStatus,
        "status_label": status_label,
        "role_label": role_label,
        "action_label": action_label,
        "subject_label": subject_label,
        "detail_label": detail_label,
        "detail_value": detail_value,
        "page_language": str(get_locale() or "ja"),
    }


def _error(code: int, message: str) -> tuple[str, int]:
    return render_template("dashboard/error.html", code=code, message=message), code


@bp.errorhandler(400)
def bad_request(_error_: Exception) -> tuple[str, int]:
    return _error(400, _("この操作は受け付けられませんでした。ページを開き直してください。"))


@bp.errorhandler(403)
def forbidden(_error_: Exception) -> tuple[str, int]:
    return _error(403, _("この画面を見る権限がありません。"))


@bp.errorhandler(404)
def not_found(_error_: Exception) -> tuple[str, int]:
    return _error(404, _("見つかりませんでした。"))


@bp.get("/<path:_address>")
def unknown_address(_address: str) -> Response:
    """An address no route knows (cut off in a mail, mistyped): only a rule of the blueprint's
    own brings the 404 to its handler and headers; the app's default page is English."""
    abort(404)


# The resident pages' headers (circulars.views.PAGE_SECURITY_HEADERS), widened only by what the
# dashboard's own files need: its scripts, their fetches of progress, and the style attributes
# that draw its bars.
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self';"
        " style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none';"
        " base-uri 'none'"
    ),
}


@bp.after_request
def security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    # Pages name residents and staff: never kept by a browser or a proxy. Static files may be.
    if request.endpoint != "dashboard.static":
        response.headers["Cache-Control"] = "no-store"
    return response


# The other pages add their routes to `bp`; imported last because they import `bp` from here.
from linebot_app.dashboard import (  # noqa: E402, F401
    compose_views,
    paper_views,
    rollout_views,
    safety_views,
)
