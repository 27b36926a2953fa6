"""Composing circulars on the web (issue #6): the form, the preview, send, schedule, cancel,
edit and correct.

Every rule is in broadcasts.circulars (drafts, attachments, lifecycle); these views parse the
form, call it, commit once and redirect. A CompositionError is shown next to the input it names
(its `field`), the transaction rolled back, so nothing of a refused form is saved. Circulars the
viewer may not manage answer 404, like every id outside a dashboard viewer's scope.

LINE's remaining quota is asked outside any transaction: the read transaction that checked the
viewer is rolled back first, so no connection waits on the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import urllib3
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from broadcasts.circulars import attachments, drafts, lifecycle, targeting
from broadcasts.circulars.drafts import CircularDraft, CompositionError
from broadcasts.circulars.targeting import Target
from broadcasts.circulars.translations import Version
from broadcasts.core.clock import TOKYO
from broadcasts.delivery import monthly_quota
from broadcasts.delivery.line import remaining_quota
from broadcasts.schedule.rules import QuietHours
from linebot_app.circulars.views import upload_dir
from linebot_app.dashboard import translation_fields
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.forms import (
    CircularFieldsForm,
    ComposeForm,
    ConfirmForm,
    ScheduleForm,
)
from linebot_app.dashboard.i18n import localized
from linebot_app.dashboard.views import bp, clock
from linebot_app.extensions import db, line, settings
from models import Circular

# compose's `field` → the form input its message is shown under; the rest go above the form.
FORM_FIELDS = {
    "title": "title",
    "body": "body",
    "targets": "targets",
    "question": "question",
    "options": "options",
    "answer_deadline": "answer_deadline",
    "event_date": "event_date",
    "urgent": "urgent",
    "attachment": "files",
    "scheduled_at": "scheduled_at",
}


class QuotaUnknown(Exception):
    """LINE did not say how many messages remain."""


# --- helpers ------------------------------------------------------------------------------------


def _require_composer() -> None:
    if not current().scope.may_compose:
        abort(403)


def _managed(circular_id: int) -> Circular:
    circular = db.session.get(Circular, circular_id)
    if circular is None or not current().scope.may_manage(db.session, circular):
        abort(404)
    return circular


def _quota() -> int | None:
    """LINE's remaining quota, after ending the read transaction (None: no monthly limit)."""
    from linebot.v3.messaging import ApiException

    db.session.rollback()
    try:
        return remaining_quota(line())
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        raise QuotaUnknown from error


def _draft(form: CircularFieldsForm, targets: Target) -> CircularDraft:
    deadline = form.answer_deadline.data
    return CircularDraft(
        title=form.title.data or "",
        body=form.body.data or "",
        targets=targets,
        question=form.question.data or None,
        options=[field.data or "" for field in form.option_fields()],
        # The form's times are Tokyo wall-clock times.
        answer_deadline=deadline.replace(tzinfo=TOKYO) if deadline else None,
        event_date=form.event_date.data,
        confirmation_required=bool(form.confirmation_required.data),
        urgent=bool(form.urgent.data),
        one_per_household=bool(form.one_per_household.data),
        translations=translation_fields.submitted(),
    )


def _targets(form: ComposeForm) -> Target:
    return Target.of(
        districts=form.districts.data or [],
        associations=form.associations.data or [],
        groups=form.groups.data or [],
    )


def _uploads() -> list[FileStorage]:
    # A file input left empty still sends one part, with no name and no bytes.
    return [f for f in request.files.getlist("files") if f.filename]


def _attach(circular: Circular) -> None:
    for upload in _uploads():
        data = upload.read(attachments.ATTACHMENT_LIMIT + 1)
        attachments.add_attachment(db.session, circular, upload.filename or "", data, upload_dir())


def _form_errors(form: CircularFieldsForm) -> dict[str, str]:
    errors: dict[str, str] = {}
    for field in form:
        if field.errors:
            name = "options" if field.name.startswith("option_") else field.name
            errors.setdefault(name, str(field.errors[0]))
    if "csrf_token" in errors:
        abort(400)
    return errors


def _error_of(error: CompositionError) -> dict[str, str]:
    return {FORM_FIELDS.get(error.field, "form"): localized(error.message)}


@dataclass(frozen=True)
class _Selected:
    districts: frozenset[int]
    associations: frozenset[int]
    groups: frozenset[int]


def _selected(form: CircularFieldsForm) -> _Selected:
    if not isinstance(form, ComposeForm):
        return _Selected(frozenset(), frozenset(), frozenset())
    return _Selected(
        frozenset(form.districts.data or ()),
        frozenset(form.associations.data or ()),
        frozenset(form.groups.data or ()),
    )


def render_form(
    form: CircularFieldsForm,
    errors: dict[str, str],
    circular: Circular | None = None,
    status: int = 200,
    prefilled: Sequence[Version] = (),
) -> tuple[str, int]:
    # A refused POST shows what was typed; a GET the circular's saved versions, or a
    # template's (`prefilled`).
    versions = (
        translation_fields.submitted()
        if request.method == "POST"
        else drafts.draft_of(circular).translations
        if circular is not None
        else prefilled
    )
    is_correction = circular is not None and circular.corrects_id is not None
    return (
        render_template(
            "dashboard/compose.html",
            form=form,
            errors=errors,
            circular=circular,
            is_correction=is_correction or not isinstance(form, ComposeForm),
            tree=[]
            if is_correction
            else targeting.allowed_target_tree(db.session, current().scope),
            selected=_selected(form),
            may_mark_urgent=current().scope.may_send_urgent,
            remove_form=ConfirmForm(),
            limits={"title": drafts.TITLE_LIMIT, "body": drafts.BODY_LIMIT},
            versions=translation_fields.inputs(versions),
        ),
        status,
    )


def _fill(form: CircularFieldsForm, circular: Circular) -> None:
    """The circular's values into a form shown for editing (GET only)."""
    fill_draft(form, drafts.draft_of(circular))


def fill_draft(form: CircularFieldsForm, values: CircularDraft) -> None:
    """A draft's values (a circular's, or a template's) into a form shown on GET."""
    form.title.data = values.title
    form.body.data = values.body
    form.question.data = values.question or ""
    for field, label in zip(form.option_fields(), [*values.options, "", "", "", ""], strict=False):
        field.data = label
    deadline = values.answer_deadline
    form.answer_deadline.data = (
        deadline.astimezone(TOKYO).replace(tzinfo=None) if deadline else None
    )
    form.event_date.data = values.event_date
    form.confirmation_required.data = values.confirmation_required
    form.urgent.data = values.urgent
    form.one_per_household.data = values.one_per_household
    if isinstance(form, ComposeForm):
        form.districts.data = sorted(values.targets.district_ids)
        form.associations.data = sorted(values.targets.association_ids)
        form.groups.data = sorted(values.targets.group_ids)


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
        return render_form(form, _form_errors(form), status=400)
    try:
        circular = drafts.save_draft(
            db.session, clock, current().member, _draft(form, _targets(form))
        )
        _attach(circular)
    except CompositionError as error:
        db.session.rollback()
        return render_form(form, _error_of(error), status=400)
    db.session.commit()
    return redirect(url_for("dashboard.compose_preview", circular_id=circular.id))


@bp.get("/compose/<int:circular_id>")
@login_required
def compose_edit(circular_id: int) -> Response | tuple[str, int]:
    circular = _managed(circular_id)
    if circular.status not in drafts.EDITABLE:
        return redirect(url_for("dashboard.circular_stats", circular_id=circular_id))
    form: CircularFieldsForm = (
        ComposeForm(formdata=None) if circular.corrects_id is None else CircularFieldsForm(None)
    )
    _fill(form, circular)
    return render_form(form, {}, circular)


@bp.post("/compose/<int:circular_id>")
@login_required
def compose_update(circular_id: int) -> Response | tuple[str, int]:
    circular = _managed(circular_id)
    form: CircularFieldsForm = (
        ComposeForm() if circular.corrects_id is None else CircularFieldsForm()
    )
    if not form.validate_on_submit():
        return render_form(form, _form_errors(form), circular, status=400)
    targets = _targets(form) if isinstance(form, ComposeForm) else Target()
    try:
        drafts.save_draft(db.session, clock, current().member, _draft(form, targets), circular)
        _attach(circular)
    except CompositionError as error:
        db.session.rollback()
        return render_form(form, _error_of(error), _managed(circular_id), status=400)
    db.session.commit()
    return redirect(url_for("dashboard.compose_preview", circular_id=circular_id))


@bp.post("/compose/<int:circular_id>/attachments/<int:attachment_id>/remove")
@login_required
def compose_remove_attachment(circular_id: int, attachment_id: int) -> Response:
    circular = _managed(circular_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        attachments.remove_attachment(db.session, current().member, circular, attachment_id)
    except CompositionError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return redirect(url_for("dashboard.compose_edit", circular_id=circular_id))
    db.session.commit()
    flash(_("添付ファイルを外しました。"), "info")
    return redirect(url_for("dashboard.compose_edit", circular_id=circular_id))


# --- correction (訂正) ---------------------------------------------------------------------------


@bp.get("/circulars/<int:circular_id>/correct")
@login_required
def correct_new(circular_id: int) -> tuple[str, int]:
    original = _managed(circular_id)
    if original.status not in lifecycle.CORRECTABLE:
        abort(404)
    form = CircularFieldsForm(formdata=None)
    form.title.data = original.title
    form.confirmation_required.data = original.confirmation_required
    return render_form(form, {}, original)


@bp.post("/circulars/<int:circular_id>/correct")
@login_required
def correct_create(circular_id: int) -> Response | tuple[str, int]:
    original = _managed(circular_id)
    if original.status not in lifecycle.CORRECTABLE:
        abort(404)
    form = CircularFieldsForm()
    if not form.validate_on_submit():
        return render_form(form, _form_errors(form), original, status=400)
    try:
        fix = lifecycle.correct(
            db.session, clock, current().member, original, _draft(form, Target())
        )
        _attach(fix)
    except CompositionError as error:
        db.session.rollback()
        return render_form(form, _error_of(error), _managed(circular_id), status=400)
    db.session.commit()
    return redirect(url_for("dashboard.compose_preview", circular_id=fix.id))


# --- preview, send, schedule, cancel ------------------------------------------------------------


@bp.get("/compose/<int:circular_id>/preview")
@login_required
def compose_preview(circular_id: int) -> str:
    _managed(circular_id)
    quota_unknown = False
    try:
        quota = _quota()
    except QuotaUnknown:
        quota, quota_unknown = None, True
    circular = _managed(circular_id)
    public_url = settings().KAIRAN_PUBLIC_URL
    shown = lifecycle.preview(db.session, current().member, circular, quota, public_url)
    later = lifecycle.quiet_until(clock, _quiet_hours(), circular)
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
    _managed(circular_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        quota = _quota()
    except QuotaUnknown:
        flash(_("LINE からメッセージの残りを取得できませんでした。"), "error")
        return redirect(url_for("dashboard.compose_preview", circular_id=circular_id))
    circular = _managed(circular_id)
    # In quiet hours the preview offers their end (the default) or 「今すぐ送る」; the plain
    # 「送信」 of a page opened before they began sends nothing, and the author chooses.
    later = lifecycle.quiet_until(clock, _quiet_hours(), circular)
    choice = request.form.get("when")
    if later is not None and choice == "later":
        return _schedule(circular, later)
    if later is not None and choice == "daytime":
        db.session.rollback()
        flash(_("いまは住民に送らない時間帯です。送る時刻をえらんでください。"), "error")
        return redirect(url_for("dashboard.compose_preview", circular_id=circular_id))
    try:
        result = lifecycle.send_now(db.session, clock, current().member, circular, quota)
    except CompositionError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return redirect(url_for("dashboard.compose_preview", circular_id=circular_id))
    # Committed either way: a refusal records its reason (hold_reason) for the list.
    db.session.commit()
    if not result.released:
        flash(localized(result.reason) if result.reason else _("送信できませんでした。"), "error")
        return redirect(url_for("dashboard.compose_preview", circular_id=circular_id))
    flash(_("送信を始めました（%(n)s人）。", n=result.recipients), "info")
    return redirect(url_for("dashboard.circular_stats", circular_id=circular_id))


@bp.post("/compose/<int:circular_id>/schedule")
@login_required
def compose_schedule(circular_id: int) -> Response:
    circular = _managed(circular_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(_("予約の日時を入れてください。"), "error")
        return redirect(url_for("dashboard.compose_preview", circular_id=circular_id))
    return _schedule(circular, form.scheduled_at.data.replace(tzinfo=TOKYO))


def _schedule(circular: Circular, when: datetime) -> Response:
    try:
        lifecycle.schedule(db.session, clock, current().member, circular, when)
    except CompositionError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return redirect(url_for("dashboard.compose_preview", circular_id=circular.id))
    db.session.commit()
    shown = when.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
    flash(_("予約しました（%(when)s）。", when=shown), "info")
    return redirect(url_for("dashboard.index"))


@bp.post("/compose/<int:circular_id>/cancel")
@login_required
def compose_cancel(circular_id: int) -> Response:
    circular = _managed(circular_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        lifecycle.cancel(db.session, clock, current().member, circular)
    except CompositionError as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return redirect(url_for("dashboard.circular_stats", circular_id=circular_id))
    db.session.commit()
    flash(_("回覧を取り消しました。"), "info")
    return redirect(url_for("dashboard.index"))


@bp.post("/circulars/<int:circular_id>/resume")
@login_required
def circular_resume(circular_id: int) -> Response:
    """「再開」: lift a pause (the monthly limit met by the card or a reminder) once the quota
    covers what the circular still has to send."""
    _managed(circular_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    back = redirect(url_for("dashboard.circular_stats", circular_id=circular_id))
    try:
        quota = _quota()
    except QuotaUnknown:
        flash(_("LINE からメッセージの残りを取得できませんでした。"), "error")
        return back
    circular = _managed(circular_id)
    reason = monthly_quota.resume(db.session, circular, quota)
    if reason is not None:
        db.session.rollback()
        flash(localized(reason), "error")
        return back
    db.session.commit()
    flash(_("送信を再開しました。"), "info")
    return back
