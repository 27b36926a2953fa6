"""Households on paper and the 班長: the 班 a viewer keeps, paper households per association and
per 班 (officers), proxy confirmation of a circular for a 班's paper households, and the
watch-over setting and list. Thin like every dashboard view: scope check, service, render;
writes commit once."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from broadcasts.households import paper, proxy_confirmation, watch_over, watch_over_notice
from broadcasts.staff import audit
from broadcasts.staff.scope import Scope
from broadcasts.stats import digital_reach
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.common import QuotaUnknown, line_quota, officer_association
from linebot_app.dashboard.forms import (
    ConfirmForm,
    PaperGroupForm,
    PaperHouseholdsForm,
    WatchOverForm,
)
from linebot_app.dashboard.i18n import localized
from linebot_app.extensions import clock, db
from models import Circular, Group

bp = Blueprint("paper", __name__)


def _led(group_id: int, scope: Scope) -> Group:
    """The 班, if the viewer is its 班長 or an officer of its association: paper households by
    name are theirs to see and confirm for (an admin sees the counts, on the circular's page)."""
    if not scope.leads_group(db.session, group_id):
        abort(404)
    return db.session.get(Group, group_id) or abort(404)


@bp.get("/groups")
@login_required
def groups() -> str:
    """The 班 the viewer keeps (班長) or oversees (officer), with their tools."""
    scope = current().scope
    rows = [
        (group, association, watch_over.setting(db.session, association.id) is not None)
        for group, association in proxy_confirmation.led_groups(db.session, scope)
    ]
    counts = paper.counts_by_group(db.session, [group.id for group, _a, _w in rows])
    rounds = {
        group.id: proxy_confirmation.proxy_rounds(db.session, group.id)
        for group, _a, _w in rows
        if counts.get(group.id)
    }
    return render_template(
        "dashboard/groups.html", rows=rows, counts=counts, rounds=rounds, scope=scope
    )


@bp.get("/associations/<int:association_id>/groups")
@login_required
def association_groups(association_id: int) -> str:
    association = officer_association(association_id)
    setting = watch_over.setting(db.session, association.id)
    watch_form = WatchOverForm(formdata=None)
    watch_form.enabled.data = setting is not None
    watch_form.count.data = setting.circular_count if setting else watch_over.DEFAULT_COUNT
    entries = {group.id: paper.active(db.session, group.id) for group in association.groups}
    return render_template(
        "dashboard/association_groups.html",
        association=association,
        entries=entries,
        form=PaperGroupForm(formdata=None),
        watch_form=watch_form,
    )


@bp.post("/associations/<int:association_id>/groups/<int:group_id>/paper")
@login_required
def paper_group(association_id: int, group_id: int) -> Response:
    association = officer_association(association_id)
    group = db.session.get(Group, group_id)
    if group is None or group.association_id != association.id:
        abort(404)
    form = PaperGroupForm()
    if not form.validate_on_submit():
        abort(400)
    count = int(form.count.data)
    try:
        paper.set_group(db.session, clock, group, count, (form.names.data or "").splitlines())
    except paper.PaperError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return redirect(
            url_for("dashboard.paper.association_groups", association_id=association.id)
        )
    audit.record(
        db.session,
        clock,
        current().member.id,
        "group.paper_households",
        "group",
        group.id,
        count=count,
    )
    db.session.commit()
    flash(_("紙の世帯を保存しました。"), "info")
    return redirect(url_for("dashboard.paper.association_groups", association_id=association.id))


@bp.post("/associations/<int:association_id>/watch-over")
@login_required
def watch_over_setting(association_id: int) -> Response:
    association = officer_association(association_id)
    form = WatchOverForm()
    if not form.validate_on_submit():
        abort(400)
    enabled = bool(form.enabled.data)
    quota = None
    if enabled and watch_over.setting(db.session, association.id) is None:
        # Turning it on sends the notice, which needs LINE's quota.
        try:
            quota = line_quota()
        except QuotaUnknown:
            flash(
                _("LINE に問い合わせできませんでした。少し待ってからもう一度お試しください。"),
                "error",
            )
            return redirect(
                url_for("dashboard.paper.association_groups", association_id=association.id)
            )
        association = officer_association(association_id)
    turned_on = watch_over.set_association(
        db.session, clock, association.id, enabled, int(form.count.data)
    )
    notice = (
        watch_over_notice.announce(db.session, clock, current().member, association.id, quota)
        if turned_on
        else None
    )
    audit.record(
        db.session,
        clock,
        current().member.id,
        "association.watch_over",
        "association",
        association.id,
        enabled=enabled,
        count=int(form.count.data),
    )
    # Committed either way: a notice LINE's quota refused stays a draft, with its reason.
    db.session.commit()
    if notice is None:
        flash(_("見守りの設定を保存しました。"), "info")
    elif notice.released:
        flash(
            _("見守りを始めました。登録している%(n)s人にお知らせを送ります。", n=notice.recipients),
            "info",
        )
    else:
        flash(
            _(
                "見守りを始めましたが、お知らせは送れませんでした（%(reason)s）。"
                "下書きに残したので、あとで送れます。",
                reason=localized(notice.reason or ""),
            ),
            "error",
        )
    return redirect(url_for("dashboard.paper.association_groups", association_id=association.id))


@bp.post("/associations/<int:association_id>/paper")
@login_required
def paper_households(association_id: int) -> Response:
    who = current()
    association = officer_association(association_id)
    if paper.kept_per_group(db.session, [association_id]):
        # Kept per 班 (paper_group): the association's count follows the groups'.
        abort(400)
    form = PaperHouseholdsForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        digital_reach.set_paper_households(db.session, association, int(form.paper_households.data))
    except ValueError:
        db.session.rollback()
        flash(_("紙の世帯数は 0 から世帯数までの数にしてください。"), "error")
        return redirect(url_for("dashboard.stats.associations"))
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
    return redirect(url_for("dashboard.stats.associations"))


# --- proxy confirmation -------------------------------------------------------------------------


def _circular_for_group(circular_id: int, group_id: int) -> tuple[Circular, Group]:
    scope = current().scope
    group = _led(group_id, scope)
    if not scope.may_see(db.session, circular_id):
        abort(404)
    circular = db.session.get_one(Circular, circular_id)
    if circular.released_at is None or not paper.reaches(db.session, circular, group.id):
        abort(404)
    return circular, group


@bp.get("/circulars/<int:circular_id>/groups/<int:group_id>/paper")
@login_required
def proxy(circular_id: int, group_id: int) -> str:
    circular, group = _circular_for_group(circular_id, group_id)
    scope = current().scope
    coverage = next(
        (
            row
            for row in paper.coverage(db.session, circular, scope, group.association_id)
            if row.group_id == group.id
        ),
        None,
    )
    return render_template(
        "dashboard/proxy.html",
        circular=circular,
        group=group,
        statuses=proxy_confirmation.statuses(db.session, circular.id, group.id),
        coverage=coverage,
        form=ConfirmForm(),
        me=current().member.id,
        officer=scope.names_residents_of(group.association_id),
    )


def _proxy_change(circular_id: int, group_id: int, paper_household_id: int, undo: bool) -> Response:
    circular, group = _circular_for_group(circular_id, group_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    scope = current().scope
    try:
        if undo:
            proxy_confirmation.undo(db.session, clock, scope, circular.id, paper_household_id)
        else:
            proxy_confirmation.proxy_confirm(
                db.session, clock, scope, circular.id, paper_household_id
            )
    except paper.PaperError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
    else:
        db.session.commit()
    return redirect(url_for("dashboard.paper.proxy", circular_id=circular.id, group_id=group.id))


@bp.post("/circulars/<int:circular_id>/groups/<int:group_id>/paper/<int:paper_household_id>")
@login_required
def proxy_confirm(circular_id: int, group_id: int, paper_household_id: int) -> Response:
    return _proxy_change(circular_id, group_id, paper_household_id, undo=False)


@bp.post("/circulars/<int:circular_id>/groups/<int:group_id>/paper/<int:paper_household_id>/undo")
@login_required
def proxy_undo(circular_id: int, group_id: int, paper_household_id: int) -> Response:
    return _proxy_change(circular_id, group_id, paper_household_id, undo=True)


# --- watch-over ---------------------------------------------------------------------------------


@bp.get("/groups/<int:group_id>/watch-over")
@login_required
def watch_over_list(group_id: int) -> str:
    """For the 班長 of this 班 only: not even officers see it, as the association decided."""
    scope = current().scope
    if group_id not in scope.group_ids:
        abort(404)
    group = db.session.get_one(Group, group_id)
    setting = watch_over.setting(db.session, group.association_id)
    if setting is None:
        abort(404)
    residents = watch_over.not_confirming(db.session, group.id, setting.circular_count)
    return render_template(
        "dashboard/watch_over.html", group=group, residents=residents, count=setting.circular_count
    )
