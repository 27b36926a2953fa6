"""The compose form and a circular's draft, both ways: what the author typed into a
`CircularDraft` for broadcasts.composing.drafts, a draft (a circular's, or a template's) back
into the form, and the form rendered with the messages a refusal carries under the inputs they
name."""

from __future__ import annotations

from collections.abc import Sequence

from flask import abort, render_template, request
from werkzeug.datastructures import FileStorage

from broadcasts.circulars.targeting import Target
from broadcasts.circulars.translations import Version
from broadcasts.composing import attachments, drafts
from broadcasts.composing.drafts import CircularDraft, CompositionError
from broadcasts.core.clock import TOKYO
from broadcasts.interest_groups import groups as interest_groups
from broadcasts.rollout import line_groups
from linebot_app.dashboard import target_picker, translation_fields
from linebot_app.dashboard.auth import current
from linebot_app.dashboard.forms import CircularFieldsForm, ComposeForm, ConfirmForm
from linebot_app.dashboard.i18n import localized
from linebot_app.extensions import db, upload_dir
from models import Circular, QuestionKind

# compose's `field` → the form input its message is shown under; the rest go above the form.
FORM_FIELDS = {
    "title": "title",
    "body": "body",
    "targets": "targets",
    "question": "question",
    "question_kind": "question_kind",
    "options": "options",
    "answer_deadline": "answer_deadline",
    "event_date": "event_date",
    "urgent": "urgent",
    "attachment": "files",
    "scheduled_at": "scheduled_at",
}


def draft_of_form(form: CircularFieldsForm, targets: Target) -> CircularDraft:
    deadline = form.answer_deadline.data
    return CircularDraft(
        title=form.title.data or "",
        body=form.body.data or "",
        targets=targets,
        question=form.question.data or None,
        question_kind=question_kind(form.question_kind.data),
        options=[field.data or "" for field in form.option_fields()],
        # The form's times are Tokyo wall-clock times.
        answer_deadline=deadline.replace(tzinfo=TOKYO) if deadline else None,
        event_date=form.event_date.data,
        confirmation_required=bool(form.confirmation_required.data),
        urgent=bool(form.urgent.data),
        one_per_household=bool(form.one_per_household.data),
        line_group_post=isinstance(form, ComposeForm) and bool(form.line_group_post.data),
        translations=translation_fields.submitted(),
    )


def question_kind(value: object) -> QuestionKind:
    """The kind chosen; a choice for anything the form did not offer."""
    known = {kind.value: kind for kind in QuestionKind}
    return known.get(value, QuestionKind.choice) if isinstance(value, str) else QuestionKind.choice


def targets_of(form: ComposeForm) -> Target:
    return Target.of(
        districts=form.districts.data or [],
        associations=form.associations.data or [],
        groups=form.groups.data or [],
        interest_groups=form.interest_groups.data or [],
        staff_of=form.staff_of.data or [],
    )


def _uploads() -> list[FileStorage]:
    # A file input left empty still sends one part, with no name and no bytes.
    return [f for f in request.files.getlist("files") if f.filename]


def attach_uploads(circular: Circular) -> None:
    for upload in _uploads():
        data = upload.read(attachments.ATTACHMENT_LIMIT + 1)
        attachments.add_attachment(db.session, circular, upload.filename or "", data, upload_dir())


def form_errors(form: CircularFieldsForm) -> dict[str, str]:
    errors: dict[str, str] = {}
    for field in form:
        if field.errors:
            name = "options" if field.name.startswith("option_") else field.name
            errors.setdefault(name, str(field.errors[0]))
    if "csrf_token" in errors:
        abort(400)
    return errors


def error_of(error: CompositionError) -> dict[str, str]:
    return {FORM_FIELDS.get(error.field, "form"): localized(error.message)}


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
            # The target picker (target_picker): found areas and the chosen ones' chips.
            picker=None
            if is_correction or not isinstance(form, ComposeForm)
            else target_picker.state(targets_of(form)),
            interest_choices=[]
            if is_correction or not isinstance(form, ComposeForm)
            else interest_groups.targetable(db.session, current().scope),
            may_mark_urgent=current().scope.may_send_urgent,
            # The LINE groups linked to the associations the author may send to, offered with
            # their members (what a post costs).
            line_groups=line_groups.in_scope(db.session, current().scope)
            if isinstance(form, ComposeForm)
            else [],
            remove_form=ConfirmForm(),
            limits={"title": drafts.TITLE_LIMIT, "body": drafts.BODY_LIMIT},
            versions=translation_fields.inputs(versions),
        ),
        status,
    )


def fill_draft(form: CircularFieldsForm, values: CircularDraft) -> None:
    """A draft's values (a circular's, or a template's) into a form shown on GET."""
    form.title.data = values.title
    form.body.data = values.body
    form.question.data = values.question or ""
    form.question_kind.data = values.question_kind.value
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
        form.line_group_post.data = values.line_group_post
        form.districts.data = sorted(values.targets.district_ids)
        form.associations.data = sorted(values.targets.association_ids)
        form.groups.data = sorted(values.targets.group_ids)
        form.interest_groups.data = sorted(values.targets.interest_group_ids)
        form.staff_of.data = sorted(values.targets.staff_association_ids)
