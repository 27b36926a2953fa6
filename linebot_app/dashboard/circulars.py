"""Circulars on the dashboard: the list, and composing on the web (issue #6) — the form, the
preview, send, schedule, cancel, edit, correct and resume.

Every rule is broadcasts.circulars' (drafts, lifecycle); these views parse the form (compose_form),
call them, commit once and redirect. A CompositionError is shown next to the input it names (its
`field`), the transaction rolled back, so nothing of a refused form is saved. Circulars the viewer
may not manage answer 404, like every id outside a dashboard viewer's scope.

LINE's remaining quota is asked outside any transaction (common.quota): the read transaction that
checked the viewer is rolled back first, so no connection waits on the network.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from broadcasts.circulars import lifecycle
from broadcasts.circulars.targeting import Target
from broadcasts.composing import attachments, drafts
from broadcasts.composing.drafts import CompositionError
from broadcasts.core.clock import TOKYO
from broadcasts.schedule import holds
from broadcasts.schedule.rules import QuietHours
from broadcasts.stats import circular_counts
from linebot_app.dashboard import target_picker
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.common import (
    QuotaUnknown,
    line_quota,
    managed_circular,
    page_number,
)
from linebot_app.dashboard.compose_form import (
    attach_uploads,
    draft_of_form,
    error_of,
    fill_draft,
    form_errors,
    render_form,
    targets_of,
)
from linebot_app.dashboard.forms import CircularFieldsForm, ComposeForm, ConfirmForm, ScheduleForm
from linebot_app.dashboard.i18n import localized
from linebot_app.extensions import clock, db, settings
from models import Circular

bp = Blueprint("circulars", __name__)


@bp.get("/")
@login_required
def index() -> str:
    page = page_number()
    scope = current().scope
    rows = circular_counts.circulars(db.session, scope, limit=50, offset=(page - 1) * 50)
    may_compose = current().scope.may_compose
    return render_template(
        "dashboard/circulars.html",
        rows=rows,
        page=page,
        may_compose=may_compose,
        editable=drafts.EDITABLE,
    )


def _require_composer() -> None:
    if not current().scope.may_compose:
        abort(403)


# --- compose and edit ---------------------------------------------------------------------------


@bp.get("/compose")
@login_required
def compose_new() -> tuple[str, int]:
    _require_composer()
    return render_form(ComposeForm(), {})


@bp.post("/compose")
@login_required
def compose_create() -> Response | tuple[str, int]:
    _require_composer()
    form = ComposeForm()
    if not form.validate_on_submit():
        return render_form(form, form_errors(form), status=400)
    if target_picker.requested():
        # A picker button without JavaScript: the form again, with the search, nothing saved.
        return render_form(form, {})
    try:
        circular = drafts.save_draft(
            db.session, clock, current().member, draft_of_form(form, targets_of(form))
        )
        attach_uploads(circular)
    except CompositionError as error:
        db.session.rollback()
        return render_form(form, error_of(error), status=400)
    db.session.commit()
    return redirect(url_for("dashboard.circulars.compose_preview", circular_id=circular.id))


@bp.get("/compose/<int:circular_id>")
@login_required
def compose_edit(circular_id: int) -> Response | tuple[str, int]:
    circular = managed_circular(circular_id)
    if circular.status not in drafts.EDITABLE:
        return redirect(url_for("dashboard.stats.circular_stats", circular_id=circular_id))
    form: CircularFieldsForm = (
        ComposeForm(formdata=None) if circular.corrects_id is None else CircularFieldsForm(None)
    )
    fill_draft(form, drafts.draft_of(circular))
    return render_form(form, {}, circular)


@bp.post("/compose/<int:circular_id>")
@login_required
def compose_update(circular_id: int) -> Response | tuple[str, int]:
    circular = managed_circular(circular_id)
    form: CircularFieldsForm = (
        ComposeForm() if circular.corrects_id is None else CircularFieldsForm()
    )
    if not form.validate_on_submit():
        return render_form(form, form_errors(form), circular, status=400)
    if isinstance(form, ComposeForm) and target_picker.requested():
        return render_form(form, {}, circular)
    targets = targets_of(form) if isinstance(form, ComposeForm) else Target()
    try:
        drafts.save_draft(
            db.session, clock, current().member, draft_of_form(form, targets), circular
        )
        attach_uploads(circular)
    except CompositionError as error:
        db.session.rollback()
        return render_form(form, error_of(error), managed_circular(circular_id), status=400)
    db.session.commit()
    return redirect(url_for("dashboard.circulars.compose_preview", circular_id=circular_id))


@bp.post("/compose/<int:circular_id>/attachments/<int:attachment_id>/remove")
@login_required
def compose_remove_attachment(circular_id: int, attachment_id: int) -> Response:
    circular = managed_circular(circular_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        attachments.remove_attachment(db.session, current().member, circular, attachment_id)
    except CompositionError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return redirect(url_for("dashboard.circulars.compose_edit", circular_id=circular_id))
    db.session.commit()
    flash(_("添付ファイルを外しました。"), "info")
    return redirect(url_for("dashboard.circulars.compose_edit", circular_id=circular_id))


# --- correction (訂正) ---------------------------------------------------------------------------


@bp.get("/circulars/<int:circular_id>/correct")
@login_required
def correct_new(circular_id: int) -> tuple[str, int]:
    original = managed_circular(circular_id)
    if original.status not in lifecycle.CORRECTABLE:
        abort(404)
    form = CircularFieldsForm(formdata=None)
    form.title.data = original.title
    form.confirmation_required.data = original.confirmation_required
    return render_form(form, {}, original)


@bp.post("/circulars/<int:circular_id>/correct")
@login_required
def correct_create(circular_id: int) -> Response | tuple[str, int]:
    original = managed_circular(circular_id)
    if original.status not in lifecycle.CORRECTABLE:
        abort(404)
    form = CircularFieldsForm()
    if not form.validate_on_submit():
        return render_form(form, form_errors(form), original, status=400)
    try:
        fix = lifecycle.correct(
            db.session, clock, current().member, original, draft_of_form(form, Target())
        )
        attach_uploads(fix)
    except CompositionError as error:
        db.session.rollback()
        return render_form(form, error_of(error), managed_circular(circular_id), status=400)
    db.session.commit()
    return redirect(url_for("dashboard.circulars.compose_preview", circular_id=fix.id))


# --- preview, send, schedule, cancel ------------------------------------------------------------


@bp.get("/compose/<int:circular_id>/preview")
@login_required
def compose_preview(circular_id: int) -> str:
    managed_circular(circular_id)
    quota_unknown = False
    try:
        quota = line_quota()
    except QuotaUnknown:
        quota, quota_unknown = None, True
    circular = managed_circular(circular_id)
    public_url = settings().KAIRAN_PUBLIC_URL
    quiet = _quiet_hours()
    shown = lifecycle.preview(
        db.session, current().member, circular, quota, public_url, clock=clock, quiet=quiet
    )
    later = lifecycle.quiet_until(clock, quiet, circular)
    card = shown.card.contents.to_dict() if shown.card is not None else None
    photo = attachments.first_photo(circular)
    return render_template(
        "dashboard/compose_preview.html",
        circular=circular,
        shown=shown,
        quota_unknown=quota_unknown,
        card=card,
        alt_text=shown.card.alt_text if shown.card is not None else None,
        # The hero as this site serves it (the card carries the public address).
        hero_src=url_for("circulars.files", storage_name=photo.storage_name) if photo else None,
        editable=circular.status in drafts.EDITABLE,
        quiet_until=later.astimezone(TOKYO) if later else None,
        quiet_hours=settings().KAIRAN_QUIET_HOURS.replace("-", "〜"),
        form=ConfirmForm(),
        schedule_form=ScheduleForm(formdata=None, scheduled_at=_tokyo_naive(circular)),
        errors={},
    )


def _quiet_hours() -> QuietHours:
    return QuietHours.parse(settings().KAIRAN_QUIET_HOURS)


def _tokyo_naive(circular: Circular) -> datetime | None:
    when = circular.scheduled_at
    return when.astimezone(TOKYO).replace(tzinfo=None) if when else None


@bp.post("/compose/<int:circular_id>/send")
@login_required
def compose_send(circular_id: int) -> Response:
    managed_circular(circular_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        quota = line_quota()
    except QuotaUnknown:
        flash(_("LINE からメッセージの残りを取得できませんでした。"), "error")
        return redirect(url_for("dashboard.circulars.compose_preview", circular_id=circular_id))
    circular = managed_circular(circular_id)
    # In quiet hours the preview offers their end (the default) or 「今すぐ送る」; the plain
    # 「送信」 of a page opened before they began sends nothing, and the author chooses.
    later = lifecycle.quiet_until(clock, _quiet_hours(), circular)
    choice = request.form.get("when")
    if later is not None and choice == "later":
        return _schedule(circular, later)
    if later is not None and choice == "daytime":
        db.session.rollback()
        flash(_("いまは住民に送らない時間帯です。送る時刻をえらんでください。"), "error")
        return redirect(url_for("dashboard.circulars.compose_preview", circular_id=circular_id))
    try:
        result = lifecycle.send_now(db.session, clock, current().member, circular, quota)
    except CompositionError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return redirect(url_for("dashboard.circulars.compose_preview", circular_id=circular_id))
    # Committed either way: a refusal records its reason (hold_reason) for the list.
    db.session.commit()
    if not result.released:
        flash(localized(result.reason) if result.reason else _("送信できませんでした。"), "error")
        return redirect(url_for("dashboard.circulars.compose_preview", circular_id=circular_id))
    flash(_("送信を始めました（%(n)s人）。", n=result.recipients), "info")
    return redirect(url_for("dashboard.stats.circular_stats", circular_id=circular_id))


@bp.post("/compose/<int:circular_id>/schedule")
@login_required
def compose_schedule(circular_id: int) -> Response:
    circular = managed_circular(circular_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(_("予約の日時を入れてください。"), "error")
        return redirect(url_for("dashboard.circulars.compose_preview", circular_id=circular_id))
    return _schedule(circular, form.scheduled_at.data.replace(tzinfo=TOKYO))


def _schedule(circular: Circular, when: datetime) -> Response:
    try:
        lifecycle.schedule(db.session, clock, current().member, circular, when)
    except CompositionError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return redirect(url_for("dashboard.circulars.compose_preview", circular_id=circular.id))
    db.session.commit()
    shown = when.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
    flash(_("予約しました（%(when)s）。", when=shown), "info")
    return redirect(url_for("dashboard.circulars.index"))


@bp.post("/compose/<int:circular_id>/cancel")
@login_required
def compose_cancel(circular_id: int) -> Response:
    circular = managed_circular(circular_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        lifecycle.cancel(db.session, clock, current().member, circular)
    except CompositionError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return redirect(url_for("dashboard.stats.circular_stats", circular_id=circular_id))
    db.session.commit()
    flash(_("回覧を取り消しました。"), "info")
    return redirect(url_for("dashboard.circulars.index"))


@bp.post("/circulars/<int:circular_id>/resume")
@login_required
def circular_resume(circular_id: int) -> Response:
    """「再開」: resume what the month's quota held (schedule.holds.resume) — a pause, a held
    scheduled card, a held follow-up — once the quota covers it; else say why not."""
    managed_circular(circular_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    back = redirect(url_for("dashboard.stats.circular_stats", circular_id=circular_id))
    try:
        quota = line_quota()
    except QuotaUnknown:
        flash(_("LINE からメッセージの残りを取得できませんでした。"), "error")
        return back
    circular = managed_circular(circular_id)
    reason = holds.resume(db.session, clock, current().member.id, circular, quota, _quiet_hours())
    if reason is not None:
        db.session.rollback()
        flash(localized(reason), "error")
        return back
    db.session.commit()
    flash(_("送信を再開しました。"), "info")
    return back
