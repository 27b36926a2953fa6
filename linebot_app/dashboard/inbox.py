"""「住民からのメッセージ」: what residents wrote to their association (「自治会へ」), for its
officers alone — the list (paged, by status), a thread with the answer form, and its status
(broadcasts.inbox.answers). Anyone else gets 404, as for a thread that does not exist. Thin:
scope check, service, render; writes commit once, and the answer goes to LINE from the clock.
Nothing here logs what was written."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from broadcasts.inbox import answers, writing
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.common import page_number
from linebot_app.dashboard.forms import InboxAnswerForm, InboxStatusForm
from linebot_app.dashboard.i18n import localized
from linebot_app.extensions import clock, db, upload_dir
from models import ThreadStatus

bp = Blueprint("inbox", __name__)


def _officer() -> None:
    if not current().scope.association_ids:
        abort(404)


@bp.get("/inbox")
@login_required
def inbox_page() -> str:
    _officer()
    wanted = request.args.get("status", "")
    status = next((s for s in ThreadStatus if s.value == wanted), None)
    listing = answers.listing(db.session, current().scope, status, page_number())
    return render_template(
        "dashboard/inbox.html", listing=listing, status=status.value if status else ""
    )


@bp.get("/inbox/<int:thread_id>")
@login_required
def thread_page(thread_id: int) -> str:
    try:
        thread = answers.thread(db.session, current().scope, thread_id)
    except answers.NotYours:
        abort(404)
    return render_template(
        "dashboard/inbox_thread.html",
        thread=thread,
        form=InboxAnswerForm(formdata=None),
        status_form=InboxStatusForm(formdata=None, status=thread.status.value),
        limit=writing.BODY_LIMIT,
    )


@bp.get("/inbox/<int:thread_id>/photos/<int:message_id>")
@login_required
def photo(thread_id: int, message_id: int) -> Response:
    """A resident's photo, for the officers who read the thread; never cached elsewhere."""
    try:
        name = answers.photo_of(db.session, current().scope, thread_id, message_id)
    except answers.NotYours:
        abort(404)
    path = writing.photo_path(upload_dir(), name)
    if not path.is_file():
        abort(404)
    sent = send_file(path, mimetype="image/png" if name.endswith(".png") else "image/jpeg")
    sent.headers["Cache-Control"] = "private, no-store"
    return sent


@bp.post("/inbox/<int:thread_id>/answer")
@login_required
def answer(thread_id: int) -> Response:
    form = InboxAnswerForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        answers.answer(db.session, clock, current().scope, thread_id, form.body.data or "")
    except answers.NotYours:
        abort(404)
    except answers.AnswerRefused as error:
        db.session.rollback()
        flash(localized(error.message), "error")
        return _back(thread_id)
    db.session.commit()
    flash(_("返信しました。住民のLINEに届きます。"), "info")
    return _back(thread_id)


@bp.post("/inbox/<int:thread_id>/status")
@login_required
def set_status(thread_id: int) -> Response:
    form = InboxStatusForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = answers.set_status(
            db.session, clock, current().scope, thread_id, ThreadStatus(form.status.data)
        )
    except answers.NotYours:
        abort(404)
    db.session.commit()
    if changed:
        flash(_("状態を変えました。"), "info")
    return _back(thread_id)


def _back(thread_id: int) -> Response:
    return redirect(url_for("dashboard.inbox.thread_page", thread_id=thread_id))
