"""Composing circulars: the rules every front end (LINE, the dashboard, the CLI) calls.

Nothing here talks to LINE or knows about Flask. LINE's remaining quota is read by the edge
before its transaction and handed in; functions flush and never commit.

Who may compose what (checked on every write, whatever ids a form or postback carries):

| role | may target |
| --- | --- |
| admin (管理者) | anything |
| promoter (ICT推進員) | their district(s), any of its associations and groups |
| officer (自治会役員) | their association(s) and their groups; never a whole district |
| anybody else (a resident, a staff member without a role) | nothing: cannot compose |

A staff member with several roles gets the union. A circular may be changed, sent, scheduled,
cancelled or corrected by its author, by an admin, or by staff whose scope covers all its
targets (the district's promoter may take over an officer's draft).

API in short::

    draft = CircularDraft(title=..., body=..., targets=Target.of(associations=[3]))
    circular = save_draft(session, clock, author, draft)            # CompositionError
    add_attachment(session, circular, "map.pdf", data, storage_dir)  # CompositionError
    shown = preview(session, author, circular, remaining_quota)     # counts, quota, the card
    send_now(session, clock, author, circular, remaining_quota)     # -> release.Release
    schedule(session, clock, author, circular, when)
    cancel(session, clock, author, circular)
    fix = correct(session, clock, author, original, draft)           # a new draft (訂正)
"""

from __future__ import annotations

import io
import secrets
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcasts.circulars.release import Release, promised_elsewhere, release
from broadcasts.circulars.targeting import Target, reach
from broadcasts.circulars.translations import OPTION_LIMIT, TranslationError, Version
from broadcasts.circulars.translations import clean as clean_translations
from broadcasts.circulars.translations import of_circular as translations_of
from broadcasts.circulars.translations import save as save_translations
from broadcasts.core.clock import Clock, tokyo_today
from broadcasts.core.i18n import Refused, StaffText
from broadcasts.delivery.messages import UnsendableCircular, circular_card
from broadcasts.delivery.steps import short_of_quota
from broadcasts.households import paper
from broadcasts.rollout import activation
from broadcasts.schedule.rules import QuietHours, allowed_at
from broadcasts.staff import audit
from broadcasts.staff.scope import Scope
from models import (
    AnswerOption,
    Association,
    Attachment,
    AttachmentKind,
    Circular,
    CircularStatus,
    CircularTarget,
    Delivery,
    DeliveryStatus,
    District,
    FollowStatus,
    Group,
    Resident,
    StaffMember,
)

# line-bot-sdk is imported where LINE is called or a message is built: loading its models
# costs every process about 1.5 s of CPU, and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.messaging import FlexMessage

TITLE_LIMIT = 100
BODY_LIMIT = 10_000
QUESTION_LIMIT = 200
MIN_OPTIONS, MAX_OPTIONS = 2, 4
# The furthest ahead a circular may be scheduled: a year covers every annual event.
SCHEDULE_HORIZON = timedelta(days=366)
ATTACHMENT_LIMIT = 10 * 1024 * 1024  # bytes, per file
MAX_ATTACHMENTS = 10
# A photo larger than this is scaled down: phones take 4000 px photos; nobody needs them here.
IMAGE_MAX_SIDE = 2048
# Refuse decompression bombs before Pillow decodes them (50 million pixels ≈ 8000 × 6000).
IMAGE_MAX_PIXELS = 50_000_000
EDITABLE = (CircularStatus.draft, CircularStatus.scheduled)
CORRECTABLE = (CircularStatus.sending, CircularStatus.sent)
CORRECTION_PREFIX = "【訂正】"


class CompositionError(Refused):
    """A draft cannot be saved or acted on as asked.

    `field` names the input at fault (``title``, ``body``, ``targets``, ``options``, ``question``,
    ``answer_deadline``, ``event_date``, ``scheduled_at``, ``attachment``, ``status``, ``card``,
    ``urgent``, ``author``, ``translation:<language>``); `message` is for the author.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotPermitted(CompositionError):
    """The author may not do this at all (a resident, or someone outside the circular's scope).

    Web front ends answer 403 (or 404, to hide that the circular exists)."""

    def __init__(
        self, message: str = StaffText("この操作はできません（担当の範囲外です）")
    ) -> None:
        super().__init__("author", message)


@dataclass(frozen=True)
class CircularDraft:
    """What an author fills in. Strings are stripped; empty optional strings mean "none"."""

    title: str
    body: str
    targets: Target = field(default_factory=Target)
    question: str | None = None
    options: Sequence[str] = ()
    # Aware datetimes (any zone); stored as UTC.
    answer_deadline: datetime | None = None
    # A day in Asia/Tokyo.
    event_date: date | None = None
    confirmation_required: bool = True
    urgent: bool = False
    one_per_household: bool = False
    # The author's やさしい日本語 version and translations (broadcasts/circulars/translations.py).
    translations: Sequence[Version] = ()


# --- rules every write checks --------------------------------------------------------------


def check_target(session: Session, author: StaffMember | None, target: Target) -> None:
    """Raise unless every area of `target` exists and lies inside the author's scope.

    Unknown ids are refused like foreign ones: a forged id learns nothing.
    """
    scope = Scope.of_member(author)
    if not scope.may_compose:
        raise NotPermitted(StaffText("回覧を作れるのは、ICT推進員・自治会役員・管理者だけです"))
    if target.residents_of is not None:
        raise CompositionError("targets", StaffText("この届け先は訂正にだけ使えます"))
    if target.is_empty():
        raise CompositionError("targets", StaffText("届け先をえらんでください"))
    refused = CompositionError("targets", StaffText("担当の範囲外の届け先はえらべません"))
    found_districts = set(
        session.scalars(select(District.id).where(District.id.in_(target.district_ids)))
    )
    found_associations = set(
        session.scalars(select(Association.id).where(Association.id.in_(target.association_ids)))
    )
    # `.all()`: a Result has keys() (its columns), so dict() would read it as a mapping.
    group_owners = dict(
        session.execute(
            select(Group.id, Group.association_id).where(Group.id.in_(target.group_ids))
        ).all()
    )
    if (
        found_districts != set(target.district_ids)
        or found_associations != set(target.association_ids)
        or set(group_owners) != set(target.group_ids)
    ):
        raise refused
    preparing = activation.preparing_districts(session, target)
    if preparing:
        raise CompositionError(
            "targets",
            StaffText(
                "%(districts)sはLINEでの回覧の準備中です。始まるまでは届け先にできません",
                districts="、".join(preparing),
            ),
        )
    if not scope.may_target(session, target):
        raise refused


def check_urgent(session: Session, author: StaffMember | None, urgent: bool) -> None:
    """至急 (delivered even in quiet hours) is for admins and promoters, not officers."""
    if not urgent:
        return
    if not Scope.of_member(author).may_send_urgent:
        raise CompositionError("urgent", StaffText("至急にできるのは、管理者とICT推進員だけです"))


def _original(circular: Circular) -> Circular:
    return circular.corrects if circular.corrects is not None else circular


def _require_manage(session: Session, author: StaffMember | None, circular: Circular) -> None:
    if not Scope.of_member(author).may_manage(session, circular):
        raise NotPermitted()


# --- the target tree ------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupNode:
    id: int
    name: str
    recipients: int


@dataclass(frozen=True)
class AssociationNode:
    id: int
    name: str
    recipients: int
    paper_households: int
    groups: tuple[GroupNode, ...]


@dataclass(frozen=True)
class DistrictNode:
    id: int
    name: str
    # False for an officer: they may pick associations of this district, not all of it.
    selectable: bool
    recipients: int
    associations: tuple[AssociationNode, ...]


def allowed_target_tree(session: Session, author: StaffMember | None) -> list[DistrictNode]:
    """The areas `author` may target, district → association → group, each with the number of
    following, registered residents it reaches now (two grouped queries, whatever the size)."""
    scope = Scope.of_member(author)
    if not scope.may_compose:
        return []
    associations = list(
        session.scalars(
            select(Association)
            .where(scope.whole_areas().associations())
            .order_by(Association.district_id, Association.kana)
        )
    )
    ids = [association.id for association in associations]
    following = (
        Resident.follow_status == FollowStatus.following,
        Resident.association_id.in_(ids),
    )
    by_association: dict[int | None, int] = dict(
        session.execute(
            select(Resident.association_id, func.count())
            .where(*following)
            .group_by(Resident.association_id)
        ).all()
    )
    by_group: dict[int | None, int] = dict(
        session.execute(
            select(Resident.group_id, func.count())
            .where(*following, Resident.group_id.is_not(None))
            .group_by(Resident.group_id)
        ).all()
    )
    tree: dict[int, list[AssociationNode]] = {}
    for association in associations:
        tree.setdefault(association.district_id, []).append(
            AssociationNode(
                id=association.id,
                name=association.name,
                recipients=by_association.get(association.id, 0),
                paper_households=association.paper_household_count,
                groups=tuple(
                    GroupNode(group.id, group.name, by_group.get(group.id, 0))
                    for group in association.groups
                ),
            )
        )
    districts = session.scalars(
        select(District).where(District.id.in_(tree)).order_by(District.kana)
    )
    return [
        DistrictNode(
            id=district.id,
            name=district.name,
            selectable=scope.city or district.id in scope.district_ids,
            recipients=sum(node.recipients for node in tree[district.id]),
            associations=tuple(tree[district.id]),
        )
        for district in districts
    ]


# --- drafts ---------------------------------------------------------------------------------


def save_draft(
    session: Session,
    clock: Clock,
    author: StaffMember | None,
    draft: CircularDraft,
    circular: Circular | None = None,
) -> Circular:
    """Create a draft circular, or update `circular` (a draft or a scheduled one) in place.

    Raises CompositionError (field, Japanese message) for the first problem found, and
    NotPermitted when the author may not compose or may not touch `circular`.
    """
    if circular is not None:
        _require_manage(session, author, circular)
        if circular.status not in EDITABLE:
            raise CompositionError("status", StaffText("送信済みや取り消した回覧は変更できません"))
    assert author is not None or circular is None  # noqa: S101 - _require_manage refused None
    values = validate(clock, draft)
    if circular is None or circular.corrects_id is None:
        check_target(session, author, draft.targets)
    check_urgent(session, author, draft.urgent)
    created = circular is None
    if circular is None:
        assert author is not None  # noqa: S101 - check_target refused None
        circular = Circular(author_id=author.id, title=values.title, body=values.body)
        session.add(circular)
    circular.title = values.title
    circular.body = values.body
    circular.question = values.question
    circular.answer_deadline = values.answer_deadline
    circular.event_date = draft.event_date
    circular.confirmation_required = draft.confirmation_required
    circular.urgent = draft.urgent
    circular.one_per_household = draft.one_per_household
    if circular.corrects_id is None:
        set_targets(circular, draft.targets)
    _set_options(session, circular, values.options)
    save_translations(circular, values.translations)
    session.flush()
    check_card(circular)
    if created:
        audit.record(session, clock, _actor(author), "circular.composed", "circular", circular.id)
    return circular


@dataclass(frozen=True)
class _Valid:
    title: str
    body: str
    question: str | None
    options: tuple[str, ...]
    answer_deadline: datetime | None
    translations: tuple[Version, ...]


def clean_title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise CompositionError("title", StaffText("題名を入れてください"))
    if len(title) > TITLE_LIMIT:
        raise CompositionError(
            "title",
            StaffText(
                "題名は%(limit)s文字までです（%(length)s文字）",
                limit=TITLE_LIMIT,
                length=len(title),
            ),
        )
    return title


def clean_body(text: str) -> str:
    body = text.strip()
    if not body:
        raise CompositionError("body", StaffText("本文を入れてください"))
    if len(body) > BODY_LIMIT:
        raise CompositionError(
            "body",
            StaffText(
                "本文は%(limit)s文字までです（%(length)s文字）", limit=BODY_LIMIT, length=len(body)
            ),
        )
    return body


def clean_question(text: str) -> str:
    question = text.strip()
    if not question:
        raise CompositionError("question", StaffText("質問を入れてください"))
    if len(question) > QUESTION_LIMIT:
        raise CompositionError(
            "question", StaffText("質問は%(limit)s文字までです", limit=QUESTION_LIMIT)
        )
    return question


def clean_option(text: str) -> str:
    option = " ".join(text.split())
    if not option or len(option) > OPTION_LIMIT:
        raise CompositionError(
            "options", StaffText("選択肢は1つ%(limit)s文字までです", limit=OPTION_LIMIT)
        )
    return option


def validate(clock: Clock, draft: CircularDraft) -> _Valid:
    """The draft's values cleaned up, or CompositionError for the first problem (no database)."""
    title = clean_title(draft.title)
    body = clean_body(draft.body)
    question = (draft.question or "").strip() or None
    options = tuple(" ".join(option.split()) for option in draft.options)
    options = tuple(option for option in options if option)
    if question is None and options:
        raise CompositionError("question", StaffText("選択肢があるときは、質問を入れてください"))
    if question is not None:
        question = clean_question(question)
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise CompositionError(
                "options",
                StaffText(
                    "選択肢は%(least)sつから%(most)sつまでです", least=MIN_OPTIONS, most=MAX_OPTIONS
                ),
            )
        if any(len(option) > OPTION_LIMIT for option in options):
            raise CompositionError(
                "options", StaffText("選択肢は1つ%(limit)s文字までです", limit=OPTION_LIMIT)
            )
        if len(set(options)) != len(options):
            raise CompositionError("options", StaffText("同じ選択肢が2つあります"))
    deadline = draft.answer_deadline
    if deadline is not None:
        if question is None:
            raise CompositionError(
                "answer_deadline", StaffText("しめきりは質問があるときだけ使えます")
            )
        if deadline.tzinfo is None or deadline.utcoffset() is None:
            raise CompositionError("answer_deadline", StaffText("しめきりの日時が正しくありません"))
        if deadline <= clock.now():
            raise CompositionError("answer_deadline", StaffText("しめきりは先の日時にしてください"))
    if draft.event_date is not None and draft.event_date < tokyo_today(clock):
        raise CompositionError("event_date", StaffText("行事の日は今日以降にしてください"))
    try:
        versions = clean_translations(draft.translations, title, len(options))
    except TranslationError as error:
        raise CompositionError(f"translation:{error.language}", error.message) from None
    return _Valid(title, body, question, options, deadline, versions)


def draft_of(circular: Circular) -> CircularDraft:
    """The circular's current values as a draft (to save it again through every rule)."""
    return CircularDraft(
        title=circular.title,
        body=circular.body,
        targets=Target.of_circular(circular) if circular.corrects_id is None else Target(),
        question=circular.question,
        options=[option.label for option in circular.options],
        answer_deadline=circular.answer_deadline,
        event_date=circular.event_date,
        confirmation_required=circular.confirmation_required,
        urgent=circular.urgent,
        one_per_household=circular.one_per_household,
        translations=translations_of(circular),
    )


def set_targets(circular: Circular, target: Target) -> None:
    """Replace the circular's target rows (the caller checked the target)."""
    wanted = (
        {("d", i) for i in target.district_ids}
        | {("a", i) for i in target.association_ids}
        | {("g", i) for i in target.group_ids}
    )
    kept = []
    for row in circular.targets:
        key = _target_key(row)
        if key in wanted:
            kept.append(row)
            wanted.discard(key)
    for kind, area_id in sorted(wanted):
        kept.append(
            CircularTarget(
                district_id=area_id if kind == "d" else None,
                association_id=area_id if kind == "a" else None,
                group_id=area_id if kind == "g" else None,
            )
        )
    circular.targets = kept


def _target_key(row: CircularTarget) -> tuple[str, int]:
    if row.district_id is not None:
        return ("d", row.district_id)
    if row.association_id is not None:
        return ("a", row.association_id)
    assert row.group_id is not None  # noqa: S101 - the table's CHECK guarantees one area
    return ("g", row.group_id)


def _set_options(session: Session, circular: Circular, labels: tuple[str, ...]) -> None:
    current = [option.label for option in circular.options]
    if current == list(labels):
        return
    circular.options.clear()
    # Delete before inserting: (circular_id, position) is unique.
    session.flush()
    circular.options.extend(
        AnswerOption(position=position, label=label) for position, label in enumerate(labels, 1)
    )


def check_card(circular: Circular, public_url: str | None = None) -> FlexMessage:
    """The card residents will get, or CompositionError("card", why it cannot be sent)."""
    try:
        return circular_card(circular, public_url)
    except UnsendableCircular as error:
        raise CompositionError("card", error.message) from None


# --- attachments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sniffed:
    kind: AttachmentKind
    content_type: str
    extension: str
    data: bytes


def add_attachment(
    session: Session,
    circular: Circular,
    filename: str,
    data: bytes,
    storage_dir: Path,
) -> Attachment:
    """Check `data` by its content (never its name), store it under an unguessable name in
    `storage_dir`, and attach it to the draft.

    PDFs are stored as sent (they must start with ``%PDF-``). Photos (JPEG, PNG) are decoded and
    re-encoded: that drops their metadata — phones put the place a photo was taken in its EXIF —
    turns them upright and scales them to at most 2048 px. Anything else is refused.
    The file is written before the transaction commits; if it rolls back, an unreferenced file
    with a random name is left behind, which serves nobody.
    """
    if circular.status not in EDITABLE:
        raise CompositionError("status", StaffText("送信済みや取り消した回覧は変更できません"))
    if len(circular.attachments) >= MAX_ATTACHMENTS:
        raise CompositionError(
            "attachment", StaffText("添付は%(most)s個までです", most=MAX_ATTACHMENTS)
        )
    sniffed = sniff(data)
    storage_name = secrets.token_urlsafe(32) + sniffed.extension
    storage_dir.mkdir(parents=True, exist_ok=True)
    partial = storage_dir / (storage_name + ".part")
    partial.write_bytes(sniffed.data)
    partial.replace(storage_dir / storage_name)
    name = Path(filename.replace("\\", "/")).name.strip()[:255] or f"file{sniffed.extension}"
    position = max((a.position for a in circular.attachments), default=0) + 1
    attachment = Attachment(
        position=position,
        kind=sniffed.kind,
        original_name=name,
        storage_name=storage_name,
        content_type=sniffed.content_type,
        size_bytes=len(sniffed.data),
    )
    circular.attachments.append(attachment)
    session.flush()
    return attachment


def sniff(data: bytes) -> _Sniffed:
    """What the bytes are, by content, or CompositionError("attachment", why not)."""
    if not data:
        raise CompositionError("attachment", StaffText("ファイルが空です"))
    if len(data) > ATTACHMENT_LIMIT:
        raise CompositionError(
            "attachment",
            StaffText(
                "ファイルは%(megabytes)sMBまでです", megabytes=ATTACHMENT_LIMIT // (1024 * 1024)
            ),
        )
    if data.startswith(b"%PDF-"):
        return _Sniffed(AttachmentKind.pdf, "application/pdf", ".pdf", data)
    refused = CompositionError("attachment", StaffText("PDF か写真（JPEG・PNG）だけ添付できます"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                image_format = probe.format
                if probe.width * probe.height > IMAGE_MAX_PIXELS:
                    raise CompositionError("attachment", StaffText("写真が大きすぎます"))
                probe.verify()
            if image_format not in ("JPEG", "PNG"):
                raise refused
            # verify() leaves the image unusable: open it again to decode it.
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
                upright.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE))
                out = io.BytesIO()
                if image_format == "JPEG":
                    upright.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
                    return _Sniffed(AttachmentKind.image, "image/jpeg", ".jpg", out.getvalue())
                upright.save(out, "PNG", optimize=True)
                return _Sniffed(AttachmentKind.image, "image/png", ".png", out.getvalue())
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise refused from None


def remove_attachment(
    session: Session, author: StaffMember | None, circular: Circular, attachment_id: int
) -> None:
    """Drop an attachment from a draft (its file stays until housekeeping removes it as
    unreferenced, see `unreferenced_files`)."""
    _require_manage(session, author, circular)
    if circular.status not in EDITABLE:
        raise CompositionError("status", StaffText("送信済みや取り消した回覧は変更できません"))
    circular.attachments = [a for a in circular.attachments if a.id != attachment_id]
    session.flush()


# An upload is written before its transaction commits: only files older than this can be
# known to be nobody's.
UNREFERENCED_AFTER = timedelta(days=1)


def unreferenced_files(session: Session, now: datetime, storage_dir: Path) -> list[Path]:
    """Files in `storage_dir` no attachment names, untouched for a day: left by discarded
    drafts, removed attachments and uploads whose transaction rolled back. The caller deletes
    them (after its read ends)."""
    if not storage_dir.is_dir():
        return []
    cutoff = (now - UNREFERENCED_AFTER).timestamp()
    old = {
        path.name: path
        for path in storage_dir.iterdir()
        if path.is_file() and path.stat().st_mtime < cutoff
    }
    names = list(old)
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        for known in session.scalars(
            select(Attachment.storage_name).where(Attachment.storage_name.in_(chunk))
        ):
            del old[known]
    return sorted(old.values())


def first_photo(circular: Circular) -> Attachment | None:
    return next((a for a in circular.attachments if a.kind is AttachmentKind.image), None)


# --- preview, send, schedule, cancel, correct ------------------------------------------------


@dataclass(frozen=True)
class PaperCopies:
    """Paper copies a circular needs: households on paper, per 班 (per association where it
    has no groups)."""

    @dataclass(frozen=True)
    class Row:
        association_id: int
        association: str
        group: str | None
        copies: int

    rows: tuple[Row, ...]

    @property
    def total(self) -> int:
        return sum(row.copies for row in self.rows)


@dataclass(frozen=True)
class Preview:
    """What the author sees before sending: the exact card, who and how many, and the cost."""

    card: FlexMessage | None
    recipients: int
    # LINE counts one message per recipient, however many bubbles a card has.
    quota_needed: int
    # LINE's remaining monthly quota, as the edge read it; None: the plan has no limit.
    remaining_quota: int | None
    # What is left of it once circulars already sending have used theirs.
    available: int | None
    # Why it cannot be sent now (Japanese), or None.
    problem: str | None
    paper: PaperCopies

    @property
    def sendable(self) -> bool:
        return self.problem is None


def preview(
    session: Session,
    author: StaffMember | None,
    circular: Circular,
    remaining_quota: int | None,
    public_url: str | None = None,
) -> Preview:
    """The preview for `circular`. Read only; the recipient count comes from the same query
    release uses, so the number shown is the number sent (unless residents join or block in
    between)."""
    _require_manage(session, author, circular)
    target = Target.of_circular(circular)
    recipients = reach(session, target).quota_messages
    available = None if remaining_quota is None else remaining_quota - promised_elsewhere(session)
    problem: str | None = None
    card: FlexMessage | None = None
    try:
        card = check_card(circular, public_url)
    except CompositionError as error:
        problem = error.message
    if problem is None and target.is_empty():
        problem = StaffText("届け先が選ばれていません")
    elif problem is None and recipients == 0:
        problem = StaffText("届け先に登録済みの住民がいません")
    elif problem is None and available is not None and available < recipients:
        problem = short_of_quota(recipients, available)
    return Preview(
        card=card,
        recipients=recipients,
        quota_needed=recipients,
        remaining_quota=remaining_quota,
        available=available,
        problem=problem,
        paper=paper_copies(session, circular),
    )


def quiet_until(clock: Clock, quiet: QuietHours, circular: Circular) -> datetime | None:
    """None when `circular`, sent now, may reach residents at once; else the end of the quiet
    hours it would arrive in (KAIRAN_QUIET_HOURS), the time the author is offered instead. An
    urgent circular has no quiet hours."""
    now = clock.now()
    later = allowed_at(now, quiet, circular.urgent)
    return later if later > now else None


def send_now(
    session: Session,
    clock: Clock,
    author: StaffMember | None,
    circular: Circular,
    remaining_quota: int | None,
) -> Release:
    """Release the circular now (the worker sends it after the caller commits)."""
    _require_manage(session, author, circular)
    if circular.corrects_id is None:
        # Scope may have shrunk since the draft was saved (a role taken away).
        check_target(session, author, Target.of_circular(circular))
    circular.scheduled_at = None
    result = release(session, clock, circular, remaining_quota)
    if result.released:
        audit.record(
            session,
            clock,
            _actor(author),
            "circular.sent",
            "circular",
            circular.id,
            recipients=result.recipients,
        )
    return result


def schedule(
    session: Session,
    clock: Clock,
    author: StaffMember | None,
    circular: Circular,
    when: datetime,
) -> Circular:
    """Let the scheduler release the circular at `when` (aware; in the future, within a year).

    A scheduled circular can still be edited, rescheduled or cancelled until it is released."""
    _require_manage(session, author, circular)
    if circular.status not in EDITABLE:
        raise CompositionError("status", StaffText("送信済みや取り消した回覧は予約できません"))
    if when.tzinfo is None or when.utcoffset() is None:
        raise CompositionError("scheduled_at", StaffText("予約の日時が正しくありません"))
    now = clock.now()
    if when <= now:
        raise CompositionError("scheduled_at", StaffText("予約は先の日時にしてください"))
    if when > now + SCHEDULE_HORIZON:
        raise CompositionError("scheduled_at", StaffText("予約は1年以内にしてください"))
    if circular.corrects_id is None:
        check_target(session, author, Target.of_circular(circular))
    check_card(circular)
    circular.scheduled_at = when
    circular.status = CircularStatus.scheduled
    circular.hold_reason = None
    session.flush()
    audit.record(session, clock, _actor(author), "circular.scheduled", "circular", circular.id)
    return circular


def cancel(
    session: Session, clock: Clock, author: StaffMember | None, circular: Circular
) -> Circular:
    """Withdraw a draft or scheduled circular. One already released cannot be called back:
    send a correction instead."""
    _require_manage(session, author, circular)
    was = circular.status
    cancel_by_operator(session, clock, circular)
    if was is not CircularStatus.cancelled:
        audit.record(session, clock, _actor(author), "circular.cancelled", "circular", circular.id)
    return circular


def cancel_by_operator(session: Session, clock: Clock, circular: Circular) -> Circular:
    """`cancel` for whoever runs `kairan` on the server (trusted like an admin)."""
    if circular.status is CircularStatus.cancelled:
        return circular
    if circular.status not in EDITABLE:
        raise CompositionError(
            "status", StaffText("送信を始めた回覧は取り消せません。訂正を送ってください")
        )
    circular.status = CircularStatus.cancelled
    circular.cancelled_at = clock.now()
    session.flush()
    return circular


def correct(
    session: Session,
    clock: Clock,
    author: StaffMember | None,
    original: Circular,
    draft: CircularDraft,
) -> Circular:
    """A correction (訂正) of a released circular: a new draft linked to the original that goes to
    exactly the residents the original went to (`draft.targets` is ignored). The title gets
    「【訂正】」 in front unless it has it. Send or schedule it like any circular."""
    _require_manage(session, author, original)
    assert author is not None  # noqa: S101 - _require_manage refused None
    if original.status not in CORRECTABLE:
        raise CompositionError("status", StaffText("訂正できるのは送信した回覧だけです"))
    if original.corrects_id is not None:
        original = _original(original)
    title = draft.title.strip()
    if not title.startswith(CORRECTION_PREFIX):
        title = CORRECTION_PREFIX + title
    values = validate(clock, CircularDraft(**{**draft.__dict__, "title": title}))
    check_urgent(session, author, draft.urgent)
    correction = Circular(
        author_id=author.id,
        title=values.title,
        body=values.body,
        corrects_id=original.id,
        question=values.question,
        answer_deadline=values.answer_deadline,
        event_date=draft.event_date,
        confirmation_required=draft.confirmation_required,
        urgent=draft.urgent,
        one_per_household=draft.one_per_household,
    )
    session.add(correction)
    # The same area rows, for the card's header; the recipients come from the deliveries.
    set_targets(correction, Target.of(*_target_ids(original)))
    correction.corrects = original
    _set_options(session, correction, values.options)
    save_translations(correction, values.translations)
    session.flush()
    check_card(correction)
    audit.record(
        session,
        clock,
        author.id,
        "circular.composed",
        "circular",
        correction.id,
        corrects=original.id,
    )
    return correction


def _actor(author: StaffMember | None) -> int | None:
    return author.id if author is not None else None


def _target_ids(circular: Circular) -> tuple[list[int], list[int], list[int]]:
    target = Target.of_circular(circular)
    return list(target.district_ids), list(target.association_ids), list(target.group_ids)


def corrections_of(session: Session, circular: Circular) -> list[Circular]:
    """Released corrections of `circular`, oldest first (for its detail page)."""
    return list(
        session.scalars(
            select(Circular)
            .where(Circular.corrects_id == circular.id, Circular.status.in_(CORRECTABLE))
            .order_by(Circular.released_at, Circular.id)
        )
    )


# --- paper households -----------------------------------------------------------------------


def paper_copies(session: Session, circular: Circular) -> PaperCopies:
    """How many paper copies the targeted areas need: per 班 where the association has groups
    (broadcasts.households.paper keeps them), else the association's count. A correction needs the
    original's copies."""
    target = Target.of_circular(_original(circular))
    rows = paper.copies(
        session, list(target.district_ids), list(target.association_ids), list(target.group_ids)
    )
    return PaperCopies(
        tuple(PaperCopies.Row(r.association_id, r.association, r.group, r.copies) for r in rows)
    )


# --- listings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    circular: Circular
    deliveries: int
    sent: int


def list_circulars(
    session: Session,
    status: CircularStatus | None = None,
    limit: int = 50,
) -> list[Listed]:
    """The newest circulars with delivery counts (for `kairan circulars list`)."""
    query = select(Circular).order_by(Circular.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Circular.status == status)
    circulars = list(session.scalars(query))
    counts: dict[tuple[int, DeliveryStatus], int] = {}
    if circulars:
        for circular_id, state, count in session.execute(
            select(Delivery.circular_id, Delivery.status, func.count())
            .where(Delivery.circular_id.in_([c.id for c in circulars]))
            .group_by(Delivery.circular_id, Delivery.status)
        ):
            counts[(circular_id, state)] = count
    return [
        Listed(
            c,
            sum(v for (cid, _), v in counts.items() if cid == c.id),
            counts.get((c.id, DeliveryStatus.sent), 0),
        )
        for c in circulars
    ]


def staff_member_for(session: Session, line_user_id: str) -> StaffMember | None:
    return session.scalars(
        select(StaffMember).where(StaffMember.line_user_id == line_user_id)
    ).first()
