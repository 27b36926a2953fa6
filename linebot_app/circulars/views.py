"""Residents' pages for a circular, its files and its print view.

| route | who | writes |
| --- | --- | --- |
| `GET /c/<token>` | the resident the signed link was made for | the first Open |
| `POST /c/<token>/confirm` | the same | the Acknowledgement (web), once |
| `POST /c/<token>/answer` | the same | the answer, changed until the deadline (as in LINE) |
| `GET /c/public/<token>` | anyone with the paper copy's QR code | nothing |
| `GET /files/<storage_name>` | anyone with the unguessable name (LINE, for hero images) | nothing |
| `GET /print/<id>` | staff logged in to the dashboard whose scope shows it | nothing |
| `GET /print/link/<token>` | staff with a print link (`kairan circulars print-link`) | nothing |

The resident is not logged in: the signed token in the URL is the credential. The page's forms
also carry a signed form token bound to that link, which a page on another site cannot know:
that token is what refuses a forged post. Pages send `Referrer-Policy: no-referrer`, so the link
never leaks to another site; browsers then post the page's own forms with `Origin: null` (LINE's
in-app browser, Chrome and Safari alike), so only an origin naming another site is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from babel import Locale, UnknownLocaleError
from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Response as BaseResponse

from broadcasts.circulars import furigana, translations
from broadcasts.circulars.lifecycle import paper_copies
from broadcasts.core.i18n import SOURCE_LOCALE, locale_for
from broadcasts.core.i18n import translations as translations_for
from broadcasts.delivery.messages import area_label, day_label, paragraphs, tokyo_date, tokyo_moment
from broadcasts.residents import acknowledgements, answers, links, reading
from linebot_app.dashboard.auth import current, login_required
from linebot_app.extensions import clock, db, settings, upload_dir
from models import (
    EASY_JAPANESE,
    Attachment,
    AttachmentKind,
    Channel,
    Circular,
    CircularStatus,
    Resident,
)

bp = Blueprint(
    "circulars",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/circulars/static",
)
log = logging.getLogger(__name__)

PAGE_SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
}


# Where residents arrive from LINE or a paper's QR code: an error there is one of these pages.
RESIDENT_PATHS = ("/c/", "/files/")


@bp.app_errorhandler(HTTPException)
def _resident_error(error: HTTPException) -> BaseResponse:
    """A resident's mistyped or half-copied address gets the site's own page in Japanese, never
    the framework's English one; elsewhere, and for anything but a 4xx, the app's answer stands."""
    code = error.code or 500
    if not request.path.startswith(RESIDENT_PATHS) or not 400 <= code < 500:
        return error.get_response()
    if code == 404:
        return _not_found()
    return _page(render_template("circulars/refused.html", _=_gettext(None)), status=code)


@bp.context_processor
def _body_helpers() -> dict[str, object]:
    # The body's paragraphs and line breaks, whatever line ends the author's browser sent.
    return {"paragraphs": paragraphs}


def _secret() -> str:
    return settings().SECRET_KEY.get_secret_value()


def _page(html: str, status: int = 200, private: bool = True) -> Response:
    response = Response(html, status=status, mimetype="text/html")
    response.headers.update(PAGE_SECURITY_HEADERS)
    # Personal pages must not sit in shared caches; the public one may be cached briefly.
    response.headers["Cache-Control"] = "no-store" if private else "public, max-age=300"
    return response


def _not_found() -> Response:
    return _page(render_template("circulars/not_found.html", _=_gettext(None)), status=404)


def _gettext(language: str | None):  # type: ignore[no-untyped-def]
    return translations_for(locale_for(language)).gettext


@bp.get("/c/<token>")
def detail(token: str) -> Response:
    link = links.read_detail_token(_secret(), token)
    if link is None:
        return _not_found()
    session = db.session
    shown = reading.for_resident(session, link.circular_id, link.resident_id)
    if shown is None:
        return _not_found()
    if reading.record_open(session, clock, link.circular_id, link.resident_id):
        log.info("circular %s opened by resident %s", link.circular_id, link.resident_id)
    session.commit()
    locale = shown.resident.locale if shown.resident else None
    return _page(
        render_template(
            "circulars/detail.html",
            shown=shown,
            area=area_label(shown.circular),
            form_token=links.form_token(_secret(), token),
            confirm_url=url_for("circulars.confirm", token=token),
            answer_url=url_for("circulars.answer", token=token),
            answers_open=acknowledgements.answers_open(shown.circular, clock.now()),
            public=False,
            just_confirmed=request.args.get("confirmed") == "1",
            just_answered=request.args.get("answered"),
            **_links_for(shown),
            **_reading_for(shown, locale, "circulars.detail", token),
        )
    )


@bp.post("/c/<token>/confirm")
def confirm(token: str) -> BaseResponse:
    shown = _posted(token)
    if isinstance(shown, Response):
        return shown
    result = acknowledgements.confirm(
        db.session, clock, shown.resident, shown.circular.id, channel=Channel.web
    )
    db.session.commit()
    log.info("circular %s confirmed on the web (%s)", shown.circular.id, result)
    # Post/redirect/get: reloading the page does not post again.
    return redirect(url_for("circulars.detail", token=token, confirmed="1"), code=303)


@bp.post("/c/<token>/answer")
def answer(token: str) -> BaseResponse:
    """The page's answer (a button, a number or a text): the same services, and so the same
    rules, as in LINE."""
    shown = _posted(token)
    if isinstance(shown, Response):
        return shown
    circular_id = shown.circular.id
    status = answers.posted(db.session, clock, shown.resident, circular_id, request.form)
    db.session.commit()
    log.info("circular %s answered on the web (%s)", circular_id, status)
    if status == "unknown":
        return _refused(shown.resident)
    outcome = {"closed": "closed", "invalid": "invalid"}.get(status, "1")
    return redirect(
        url_for("circulars.detail", token=token, answered=outcome, _anchor="question"), code=303
    )


@bp.get("/c/<token>/confirm")
@bp.get("/c/<token>/answer")
def back_to_detail(token: str) -> BaseResponse:
    """A form's address opened again (a restored tab, a shared link): the page itself."""
    return redirect(url_for("circulars.detail", token=token), code=303)


@dataclass(frozen=True)
class _Posted:
    circular: Circular
    resident: Resident


def _posted(token: str) -> _Posted | Response:
    """What a form post from the link's own page acts on, or the page to answer with."""
    link = links.read_detail_token(_secret(), token)
    if link is None:
        return _not_found()
    shown = reading.for_resident(db.session, link.circular_id, link.resident_id)
    if shown is None or shown.resident is None:
        return _not_found()
    if not _same_origin() or not links.check_form_token(
        _secret(), request.form.get("form_token", ""), token
    ):
        log.warning("form refused for circular %s (origin or form token)", link.circular_id)
        return _refused(shown.resident)
    return _Posted(shown.circular, shown.resident)


def _refused(resident: Resident) -> Response:
    """A post the page did not make: a page in the resident's words saying what to do, never a
    framework's English error page."""
    return _page(render_template("circulars/refused.html", _=_gettext(resident.locale)), status=403)


def _same_origin() -> bool:
    """A post naming another site is refused before its token is read. The page's own posts
    say `Sec-Fetch-Site: same-origin` and, under no-referrer, `Origin: null` (or nothing, in old
    browsers): those leave the decision to the form token."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return True
    allowed = {_origin(settings().KAIRAN_PUBLIC_URL), _origin(request.host_url)}
    return _origin(origin) in allowed


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@bp.get("/c/public/<token>")
def public(token: str) -> Response:
    circular_id = links.read_public_token(_secret(), token)
    shown = reading.for_public(db.session, circular_id) if circular_id else None
    if shown is None:
        return _not_found()
    # Anyone may scan the paper's QR code: their browser's language picks the version.
    locale = request.accept_languages.best
    response = _page(
        render_template(
            "circulars/detail.html",
            shown=shown,
            area=area_label(shown.circular),
            public=True,
            just_confirmed=False,
            **_links_for(shown),
            **_reading_for(shown, locale, "circulars.public", token),
        ),
        private=False,
    )
    response.vary.add("Accept-Language")
    return response


def _reading_for(
    shown: reading.Reading, locale: str | None, endpoint: str, token: str
) -> dict[str, object]:
    """The version of the text to show and the page's reading aids, from `?lang=` and
    `?furigana=1` (links, not scripts: the page runs none), defaulting to the reader's language.
    """
    versions = translations.versions_of(shown.circular)
    language = request.args.get("lang", "")
    if language not in versions:
        language = translations.language_for(locale, list(versions))
    version = versions[language]
    japanese = locale_for(language) != "en"
    furigana_on = japanese and request.args.get("furigana") == "1"
    # The page's own words: the version's language, or the resident's for the original.
    words = locale_for(locale if language == translations.ORIGINAL else language)

    def link(lang: str, with_furigana: bool) -> str:
        return url_for(endpoint, token=token, lang=lang, furigana="1" if with_furigana else None)

    return {
        "_": translations_for(words).gettext,
        **_dates_in(words),
        "page_lang": words.split("-")[0],
        "version": version,
        "answers": translations.answer_labels(shown.circular, version),
        "question": translations.question_in(shown.circular, version),
        "version_lang": language.split("-x-")[0],
        "furigana": furigana_on,
        "ruby": furigana.segments,
        "furigana_link": link(language, not furigana_on) if japanese else None,
        "version_links": [
            (other, language_name(other), link(other, furigana_on), other == language)
            for other in versions
        ],
    }


def _dates_in(locale: str) -> dict[str, object]:
    """Dates as the card writes them (「12月13日（日）」), in Tokyo time: `day` for a date,
    `moment` for a date and time."""

    return {
        "day": lambda when: day_label(when, locale),
        "tokyo_day": lambda at: tokyo_date(at, locale),
        "moment": lambda at: tokyo_moment(at, locale),
    }


def language_name(language: str) -> str:
    """A version's name in its own language, as a reader looks for it."""
    if language == translations.ORIGINAL:
        return "日本語"
    if language == EASY_JAPANESE:
        return "やさしい日本語"
    try:
        return Locale.parse(language, sep="-").get_display_name() or language
    except (ValueError, UnknownLocaleError):
        return language


def _links_for(shown: reading.Reading) -> dict[str, object]:
    """Public links to the corrections and the corrected circular (no resident identity)."""
    secret = _secret()
    return {
        "correction_links": [
            (c, url_for("circulars.public", token=links.public_token(secret, c.id)))
            for c in shown.corrections
        ],
        "corrects_link": (
            url_for("circulars.public", token=links.public_token(secret, shown.corrects.id))
            if shown.corrects is not None
            else None
        ),
        "photos": [a for a in shown.circular.attachments if a.kind is AttachmentKind.image],
        "pdfs": [a for a in shown.circular.attachments if a.kind is AttachmentKind.pdf],
    }


@bp.get("/files/<storage_name>")
def files(storage_name: str) -> BaseResponse:
    attachment = db.session.scalars(
        select(Attachment).where(Attachment.storage_name == storage_name)
    ).first()
    if attachment is None or attachment.circular.status is CircularStatus.cancelled:
        return _not_found()
    try:
        response = send_from_directory(
            upload_dir(),
            attachment.storage_name,
            mimetype=attachment.content_type,
            download_name=attachment.original_name,
            as_attachment=False,
            max_age=86400,
        )
    except NotFound:
        log.warning("attachment %s missing from storage", attachment.id)
        return _not_found()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/print/<int:circular_id>")
@login_required
def print_view(circular_id: int) -> Response:
    """The paper copy for logged-in staff whose dashboard scope shows the circular."""
    if not current().scope.may_see(db.session, circular_id):
        return _not_found()
    return _print(db.session.get(Circular, circular_id))


@bp.get("/print/link/<token>")
def print_link(token: str) -> Response:
    """The paper copy through a signed link (`kairan circulars print-link ID`, 7 days)."""
    circular_id = links.read_print_token(_secret(), token)
    return _print(db.session.get(Circular, circular_id) if circular_id else None)


def _print(circular: Circular | None) -> Response:
    """A4, the same content, a QR code to the public page, and the paper copies per area."""
    if circular is None or circular.status is CircularStatus.cancelled:
        return _not_found()
    public_link = links.public_url_for(
        settings().KAIRAN_PUBLIC_URL, links.public_token(_secret(), circular.id)
    )
    return _page(
        render_template(
            "circulars/print.html",
            _=_gettext(None),
            circular=circular,
            area=area_label(circular),
            **_dates_in(SOURCE_LOCALE),
            qr_svg=qr_svg(public_link),
            public_link=public_link,
            paper=paper_copies(db.session, circular),
            photos=[a for a in circular.attachments if a.kind is AttachmentKind.image],
            pdfs=[a for a in circular.attachments if a.kind is AttachmentKind.pdf],
        )
    )


def qr_svg(data: str) -> Markup:
    """An inline SVG QR code (vector: prints sharp at any size; no image file to serve)."""
    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    svg = image.to_string(encoding="unicode")
    # The SVG is generated by qrcode from a URL we built; it holds no user text.
    return Markup(svg)  # noqa: S704
