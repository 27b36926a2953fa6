"""安否確認 (safety checks): after a disaster, an admin or promoter asks an area 「ご無事ですか？」.

A safety check is an ordinary circular with a question — answers 「無事です」「助けが必要」 — marked
`Circular.safety_check` and urgent, so it goes out through the same compose rules, release,
delivery engine and acknowledgements as any circular, and ignores quiet hours. The scheduler
reminds those who have not answered every 30 minutes for 3 hours (`schedule.safety_slots`,
released by `schedule.reminders` like every reminder: exactly once per resident and slot).

The board is what the dashboard shows: per 班 (per association where there is none), who answered
what and who has not, inside the viewer's `Scope`; names only where `Scope.named_residents`
allows them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from broadcasts.circulars import lifecycle
from broadcasts.circulars.release import Release
from broadcasts.circulars.targeting import Target
from broadcasts.circulars.translations import Version
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft, CompositionError, NotPermitted
from broadcasts.core.clock import Clock
from broadcasts.core.i18n import N_, StaffText, translations
from broadcasts.households.labels import staff_name
from broadcasts.staff.scope import Scope
from models import (
    CARD,
    EASY_JAPANESE,
    Acknowledgement,
    AnswerOption,
    Association,
    Circular,
    Delivery,
    DeliveryStatus,
    District,
    Group,
    Resident,
    StaffMember,
)

TITLE = N_("安否確認")
QUESTION = N_("ご無事ですか？")
SAFE = N_("無事です")
NEEDS_HELP = N_("助けが必要")
# The options' positions, fixed by `start`: the board counts by position, not by label.
SAFE_POSITION = 1
HELP_POSITION = 2
BODY = N_(
    "地域のみなさまの安否を確認しています。\n"
    "ご無事なら「無事です」、助けが必要なら「助けが必要」を押してください。\n"
    "お返事があるまで、30分ごとにお知らせします。"
)
# The standard check is the bot's own words, so it goes out in every language the bot speaks.
VERSIONS = ("en", EASY_JAPANESE)

Answer = Literal["help", "none", "safe"]


@dataclass(frozen=True)
class Started:
    circular: Circular
    release: Release


def start(
    session: Session,
    clock: Clock,
    author: StaffMember | None,
    target: Target,
    remaining_quota: int | None,
    message: str | None = None,
) -> Started:
    """Compose the safety check for `target` and release it now.

    Raises NotPermitted for anyone but an admin or a promoter, CompositionError for a target
    outside their scope. A release that was refused (no residents, not enough quota) is
    returned with its reason: the caller rolls back, so nothing half-made is kept.
    """
    if not Scope.of_member(author).may_send_urgent:
        raise NotPermitted(StaffText("安否確認を始められるのは、管理者とICT推進員だけです"))
    own_words = (message or "").strip()
    draft = CircularDraft(
        title=TITLE,
        body=own_words or BODY,
        targets=target,
        question=QUESTION,
        options=(SAFE, NEEDS_HELP),
        confirmation_required=False,
        urgent=True,
        # An author's own message is in Japanese only: its readers all get the same text.
        translations=() if own_words else tuple(standard_version(lang) for lang in VERSIONS),
    )
    circular = drafts.save_draft(session, clock, author, draft)
    circular.safety_check = True
    return Started(circular, lifecycle.send_now(session, clock, author, circular, remaining_quota))


def standard_version(language: str) -> Version:
    """The standard check in `language`, from the bot's catalogues."""
    _ = translations(language).gettext
    return Version(language, _(TITLE), _(BODY), (_(SAFE), _(NEEDS_HELP)), _(QUESTION))


def area_target(
    session: Session, district_code: str | None, association_code: str | None
) -> Target:
    """The one district or association named by its code (the CLI's way to say where)."""
    if (district_code is None) == (association_code is None):
        raise CompositionError("targets", "校区か自治会のどちらか1つをコードで指定してください")
    if district_code is not None:
        district_id = session.scalar(select(District.id).where(District.code == district_code))
        if district_id is None:
            raise CompositionError("targets", f"校区コード {district_code} はありません")
        return Target.of(districts=[district_id])
    association_id = session.scalar(
        select(Association.id).where(Association.code == association_code)
    )
    if association_id is None:
        raise CompositionError("targets", f"自治会コード {association_code} はありません")
    return Target.of(associations=[association_id])


# --- the board ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str | None
    answer: Answer
    answered_at: datetime | None


@dataclass
class Row:
    """One 班, or an association's residents outside any 班 (group_id None)."""

    association_id: int
    association_name: str
    group_id: int | None
    group_name: str | None
    help: int = 0
    safe: int = 0
    waiting: int = 0  # got the card (or will), no answer yet
    unreached: int = 0  # the card failed or they blocked the bot, and no answer
    # None: the viewer may not see these residents' names.
    people: list[Person] | None = None

    @property
    def total(self) -> int:
        return self.help + self.safe + self.waiting + self.unreached


@dataclass(frozen=True)
class Board:
    rows: list[Row]
    # Named residents who need help, across all rows: what the page shows first.
    needing_help: list[tuple[Row, Person]] = field(default_factory=list)

    @property
    def help(self) -> int:
        return sum(row.help for row in self.rows)

    @property
    def safe(self) -> int:
        return sum(row.safe for row in self.rows)

    @property
    def waiting(self) -> int:
        return sum(row.waiting for row in self.rows)

    @property
    def unreached(self) -> int:
        return sum(row.unreached for row in self.rows)

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)


_ORDER: dict[Answer, int] = {"help": 0, "none": 1, "safe": 2}


def board(session: Session, circular_id: int, scope: Scope) -> Board:
    """Who answered what, per 班, among the residents in `scope` the check was delivered to.

    Counts come from one grouped query; names only for the residents `scope` may name.
    Areas are the residents' current registration, as on every statistics page.
    """
    answer = case(
        (AnswerOption.position == HELP_POSITION, literal("help")),
        (AnswerOption.position == SAFE_POSITION, literal("safe")),
        (Delivery.status.in_((DeliveryStatus.failed, DeliveryStatus.skipped)), literal("lost")),
        else_=literal("none"),
    ).label("answer")
    delivered = (
        select(Delivery.resident_id)
        .join(Resident, Resident.id == Delivery.resident_id)
        .outerjoin(
            Acknowledgement,
            and_(
                Acknowledgement.circular_id == Delivery.circular_id,
                Acknowledgement.resident_id == Delivery.resident_id,
            ),
        )
        .outerjoin(AnswerOption, AnswerOption.id == Acknowledgement.answer_option_id)
        .where(Delivery.circular_id == circular_id, Delivery.slot == CARD, scope.residents())
    )
    counted = session.execute(
        delivered.with_only_columns(
            Resident.association_id, Resident.group_id, answer, func.count()
        ).group_by(Resident.association_id, Resident.group_id, answer)
    ).all()
    rows: dict[tuple[int, int | None], Row] = {}
    for association_id, group_id, kind, count in counted:
        if association_id is None:
            continue  # unregistered since: no area to show them in
        row = rows.setdefault((association_id, group_id), Row(association_id, "", group_id, None))
        if kind == "help":
            row.help = int(count)
        elif kind == "safe":
            row.safe = int(count)
        elif kind == "lost":
            row.unreached = int(count)
        else:
            row.waiting = int(count)
    _name_areas(session, rows)

    named = session.execute(
        delivered.with_only_columns(
            Resident.association_id,
            Resident.group_id,
            staff_name(),
            answer,
            Acknowledgement.answered_at,
        ).where(scope.named_residents())
    ).all()
    # Every resident of a row shares its association and 班, so a scope that may name one of
    # them names them all: a row with no named resident stays anonymous (people None).
    for association_id, group_id, name, kind, answered_at in named:
        found = rows.get((association_id, group_id))
        if found is None:
            continue
        if found.people is None:
            found.people = []
        found.people.append(Person(name, "none" if kind == "lost" else kind, answered_at))
    for row in rows.values():
        if row.people is not None:
            row.people.sort(key=lambda p: (_ORDER[p.answer], p.name or ""))
    ordered = sorted(rows.values(), key=_row_order(session, rows))
    needing_help = [
        (row, person) for row in ordered for person in row.people or [] if person.answer == "help"
    ]
    return Board(ordered, needing_help)


def _name_areas(session: Session, rows: dict[tuple[int, int | None], Row]) -> None:
    associations = dict(
        session.execute(
            select(Association.id, Association.name).where(
                Association.id.in_({key[0] for key in rows})
            )
        ).all()
    )
    groups = dict(
        session.execute(
            select(Group.id, Group.name).where(
                Group.id.in_({key[1] for key in rows if key[1] is not None})
            )
        ).all()
    )
    for (association_id, group_id), row in rows.items():
        row.association_name = associations.get(association_id, "?")
        row.group_name = groups.get(group_id) if group_id is not None else None


def _row_order(
    session: Session, rows: dict[tuple[int, int | None], Row]
) -> Callable[[Row], tuple[bool, str, str, int, int]]:
    """Rows with someone needing help first, then the city's reading order."""
    places = {
        association_id: (district_kana, kana)
        for association_id, district_kana, kana in session.execute(
            select(Association.id, District.kana, Association.kana)
            .join(District, District.id == Association.district_id)
            .where(Association.id.in_({key[0] for key in rows}))
        )
    }
    positions = dict(
        session.execute(
            select(Group.id, Group.position).where(
                Group.id.in_({key[1] for key in rows if key[1] is not None})
            )
        ).all()
    )

    def key(row: Row) -> tuple[bool, str, str, int, int]:
        district_kana, kana = places.get(row.association_id, ("", ""))
        position = positions.get(row.group_id, 0) if row.group_id is not None else 10**6
        return (row.help == 0, district_kana, kana, row.association_id, position)

    return key


def checks(session: Session, scope: Scope, limit: int = 20) -> list[Circular]:
    """The newest safety checks the viewer sees."""
    return list(
        session.scalars(
            select(Circular)
            .where(Circular.safety_check.is_(True), scope.circulars())
            .order_by(Circular.created_at.desc(), Circular.id.desc())
            .limit(limit)
        )
    )
