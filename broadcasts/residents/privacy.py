"""Personal data (個人情報): the notice shown at registration and the consent it records, what
Kairan keeps about one resident (「わたしの情報」 in LINE, `kairan residents export`), erasing
a resident on request, and anonymising those who blocked the bot after the retention period.

docs/privacy.md lists every personal field; `export` returns each of them (a test checks it).
Anonymising keeps the row and everything that points at it — deliveries, opens, confirmations
and answers — so the statistics of circulars already sent do not change; what made it a person
goes: the LINE user id (replaced by a placeholder LINE never issues), the display name, the
language, the household and its label (households.labels.forget), a request to change the label,
what they wrote to their association and its answers (inbox.writing.forget), the conversation
and the words searched for.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, union, update
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from broadcasts.households import labels
from broadcasts.inbox import writing as inbox
from models import (
    Acknowledgement,
    AnswerPrompt,
    ArchiveSearch,
    Base,
    Circular,
    Conversation,
    Delivery,
    DistrictWelcome,
    FollowStatus,
    Household,
    HouseholdInvite,
    HouseholdMember,
    InboxMessage,
    InboxThread,
    InterestGroup,
    InterestMembership,
    LabelRequest,
    Open,
    Resident,
    StaffMember,
    StaffRole,
    WatchOverOptOut,
)

# Residents anonymised per transaction by the retention period.
RETENTION_BATCH = 500
# An anonymised resident's LINE user id: "X" and 32 hex digits, the length of a real one,
# which LINE never issues (its ids start with "U").
ANONYMOUS_PREFIX = "X"


def default_notice(_: Callable[[str], str]) -> str:
    """Kairan's own notice, when the operator set none (KAIRAN_PRIVACY_NOTICE)."""
    return _(
        "【個人情報の取り扱い】LINEの表示名、LINEのユーザーID、えらんだ校区・自治会・班、"
        "回覧を受け取った・開いた・確認した記録と回答を、回覧をお届けし、"
        "自治会の役員などが確認の状況を見るために保存します。"
        "「わたしの情報」と送ると、保存している内容を見られます。"
        "「登録解除」と送ると、登録をやめて、お名前などを消します。"
    )


def notice_version(notice: str | None, policy_url: str | None) -> str:
    """A version that changes whenever the notice shown or the policy linked changes."""
    shown = notice if notice is not None else default_notice(lambda text: text)
    digest = hashlib.sha256(f"{shown}\n{policy_url or ''}".encode()).hexdigest()
    return f"notice-{digest[:12]}"


def record_consent(resident: Resident, version: str, now: datetime) -> None:
    """The resident confirmed a registration below the notice of `version`."""
    resident.consent_version = version
    resident.consented_at = now


# --- what is kept: 「わたしの情報」 ----------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """What Kairan keeps about one resident, as 「わたしの情報」 tells them."""

    display_name: str | None
    # The name staff know their household by, and the one they asked for instead.
    label: str | None
    requested_label: str | None
    district: str | None
    association: str | None
    group: str | None
    locale: str
    registered_at: datetime | None
    consented_at: datetime | None
    in_household: bool
    watch_over_opt_out: bool
    # The interest groups they joined (「グループ退会」 leaves one), by name.
    interest_groups: tuple[str, ...]
    deliveries: int
    opens: int
    confirmations: int
    answers: int


def summary(session: Session, resident: Resident) -> Summary:
    association = resident.association if resident.unregistered_at is None else None
    label = labels.own(session, resident)

    def count(model: type[Delivery] | type[Open] | type[Acknowledgement], *where: Any) -> int:
        return (
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.resident_id == resident.id, *where)
            )
            or 0
        )

    return Summary(
        display_name=resident.display_name,
        label=label.label,
        requested_label=label.requested,
        district=association.district.name if association else None,
        association=association.name if association else None,
        group=resident.group.name if association and resident.group else None,
        locale=resident.locale,
        registered_at=resident.registered_at,
        consented_at=resident.consented_at,
        in_household=session.get(HouseholdMember, resident.id) is not None,
        watch_over_opt_out=session.get(WatchOverOptOut, resident.id) is not None,
        interest_groups=tuple(
            session.scalars(
                select(InterestGroup.name)
                .join(InterestMembership, InterestMembership.interest_group_id == InterestGroup.id)
                .where(InterestMembership.resident_id == resident.id)
                .order_by(InterestGroup.name)
            )
        ),
        deliveries=count(Delivery),
        opens=count(Open),
        confirmations=count(Acknowledgement),
        answers=count(Acknowledgement, Acknowledgement.answered()),
    )


# --- disclosure: everything, for `kairan residents export` and the dashboard -------------------


def find(session: Session, line_user_id: str) -> Resident | None:
    """The resident with this LINE user id; anonymised rows answer to nobody's id."""
    if line_user_id.startswith(ANONYMOUS_PREFIX):
        return None
    return session.scalars(select(Resident).where(Resident.line_user_id == line_user_id)).first()


def export(session: Session, resident: Resident) -> dict[str, Any]:
    """Every personal field Kairan keeps about `resident`, by table and column (as named in
    docs/privacy.md), with the names of the areas and circulars they point at."""
    association = resident.association
    data: dict[str, Any] = {
        "residents": {
            **_columns(resident),
            "district_name": association.district.name if association else None,
            "association_name": association.name if association else None,
            "group_name": resident.group.name if resident.group else None,
        }
    }
    titles = _titles(session, resident.id)

    def rows(model: type[Base], *where: Any) -> list[dict[str, Any]]:
        found = session.scalars(select(model).where(*where).order_by(*_key(model))).all()
        listed = []
        for row in found:
            item = _columns(row)
            if "circular_id" in item:
                item["circular_title"] = titles.get(item["circular_id"])
            listed.append(item)
        return listed

    data["deliveries"] = rows(Delivery, Delivery.resident_id == resident.id)
    data["opens"] = rows(Open, Open.resident_id == resident.id)
    data["acknowledgements"] = rows(Acknowledgement, Acknowledgement.resident_id == resident.id)
    answers = {
        ack.id: ack.answer.label if ack.answer else None
        for ack in session.scalars(
            select(Acknowledgement).where(Acknowledgement.resident_id == resident.id)
        )
    }
    for item in data["acknowledgements"]:
        item["answer_label"] = answers.get(item["id"])
    data["household_members"] = rows(HouseholdMember, HouseholdMember.resident_id == resident.id)
    # The household's row for its label (households.labels), and the label asked for.
    data["households"] = rows(
        Household,
        Household.id.in_(
            select(HouseholdMember.household_id).where(HouseholdMember.resident_id == resident.id)
        ),
    )
    data["label_requests"] = rows(LabelRequest, LabelRequest.resident_id == resident.id)
    data["household_invites"] = rows(
        HouseholdInvite,
        or_(
            HouseholdInvite.created_by_id == resident.id,
            HouseholdInvite.used_by_id == resident.id,
        ),
    )
    data["watch_over_opt_outs"] = rows(WatchOverOptOut, WatchOverOptOut.resident_id == resident.id)
    data["archive_searches"] = rows(ArchiveSearch, ArchiveSearch.resident_id == resident.id)
    data["answer_prompts"] = rows(AnswerPrompt, AnswerPrompt.resident_id == resident.id)
    data["interest_memberships"] = rows(
        InterestMembership, InterestMembership.resident_id == resident.id
    )
    data["conversations"] = rows(Conversation, Conversation.resident_id == resident.id)
    data["district_welcomes"] = rows(DistrictWelcome, DistrictWelcome.resident_id == resident.id)
    # What they wrote to their association (「自治会へ」), and the officers' answers.
    threads = select(InboxThread.id).where(InboxThread.resident_id == resident.id)
    data["inbox_threads"] = rows(InboxThread, InboxThread.resident_id == resident.id)
    data["inbox_messages"] = rows(InboxMessage, InboxMessage.thread_id.in_(threads))
    # The same LINE account may also be staff (a promoter, an officer): that is kept too.
    staff = session.scalars(
        select(StaffMember).where(StaffMember.line_user_id == resident.line_user_id)
    ).first()
    data["staff_members"] = [_columns(staff)] if staff else []
    data["staff_roles"] = (
        rows(StaffRole, StaffRole.staff_member_id == staff.id) if staff is not None else []
    )
    return data


def _columns(row: Base) -> dict[str, Any]:
    return {column.key: _plain(getattr(row, column.key)) for column in row.__mapper__.column_attrs}


def _key(model: type[Base]) -> Sequence[Any]:
    return list(model.__mapper__.primary_key)


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _titles(session: Session, resident_id: int) -> dict[int, str]:
    acknowledged = select(Acknowledgement.circular_id).where(
        Acknowledgement.resident_id == resident_id
    )
    circulars = union(
        select(Delivery.circular_id).where(Delivery.resident_id == resident_id),
        select(Open.circular_id).where(Open.resident_id == resident_id),
        acknowledged,
    )
    return dict(
        session.execute(select(Circular.id, Circular.title).where(Circular.id.in_(circulars))).all()
    )


# --- deletion ---------------------------------------------------------------------------------


class ErasureRefused(Exception):
    """The resident cannot be erased as they are; the message says why in both languages."""


@dataclass(frozen=True)
class Erased:
    resident_id: int
    # What stays, anonymous, for the statistics of circulars already sent.
    deliveries: int
    acknowledgements: int


def erase(session: Session, clock: Clock, resident: Resident) -> Erased:
    """An admin answering a deletion request: anonymise the resident now. Refused while the
    same LINE account is staff: its roles are removed first (the dashboard's staff page)."""
    staff = session.scalars(
        select(StaffMember.id).where(StaffMember.line_user_id == resident.line_user_id)
    ).first()
    if staff is not None:
        raise ErasureRefused(
            f"このLINEアカウントは職員（担当者 {staff}）でもあります。先に役割を外してください"
            f" / This LINE account is also staff member {staff}: remove its roles first"
        )
    anonymise(session, clock.now(), resident)
    kept = summary(session, resident)
    return Erased(resident.id, kept.deliveries, kept.confirmations)


def anonymise(session: Session, now: datetime, resident: Resident) -> None:
    """Remove what identifies `resident` and end their registration; the row stays for the
    statistics. Used by 「登録解除」, by an admin's erase and by the retention period."""
    session.execute(delete(Conversation).where(Conversation.resident_id == resident.id))
    # The words they searched their circulars for are theirs too.
    session.execute(delete(ArchiveSearch).where(ArchiveSearch.resident_id == resident.id))
    labels.forget(session, resident.id)
    session.execute(delete(AnswerPrompt).where(AnswerPrompt.resident_id == resident.id))
    # Their free answers are their own words: emptied, so the answer still counts as given.
    session.execute(
        update(Acknowledgement)
        .where(Acknowledgement.resident_id == resident.id, Acknowledgement.answer_text.is_not(None))
        .values(answer_text="")
    )
    inbox.forget(session, resident.id)
    # Nobody's family any more: the household's others stay together.
    session.execute(delete(HouseholdMember).where(HouseholdMember.resident_id == resident.id))
    # Which groups they were in says something about them (老人会, 子ども会).
    session.execute(delete(InterestMembership).where(InterestMembership.resident_id == resident.id))
    resident.line_user_id = ANONYMOUS_PREFIX + secrets.token_hex(16)
    resident.display_name = None
    resident.locale = "ja"
    resident.follow_status = FollowStatus.blocked
    resident.blocked_at = resident.blocked_at or now
    resident.unregistered_at = resident.unregistered_at or now
    resident.anonymised_at = now
    session.flush()


# --- retention --------------------------------------------------------------------------------


def anonymise_blocked(session: Session, clock: Clock, retention: timedelta) -> list[int]:
    """Anonymise residents who blocked the bot more than `retention` ago and have not come
    back; the ids of those anonymised now (none the second time: it is idempotent)."""
    now = clock.now()
    due = session.scalars(
        select(Resident)
        .where(
            Resident.follow_status == FollowStatus.blocked,
            Resident.anonymised_at.is_(None),
            Resident.blocked_at < now - retention,
        )
        .order_by(Resident.id)
        .limit(RETENTION_BATCH)
    ).all()
    for resident in due:
        anonymise(session, now, resident)
    return [resident.id for resident in due]
