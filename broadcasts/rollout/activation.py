"""Phased activation (段階的導入): each district is preparing or active.

Residents of a preparing district may register, but no circular is composed for it. When an
admin activates the district, every resident registered there by then is owed one welcome
message: a `DistrictWelcome` row each (unique per district × resident, so activating again adds
nothing), committed with the activation and pushed later by the clock with the row's retry key
(`next_welcome`, `welcome_push`; broadcasts/delivery/pushes.py sends them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from broadcasts.circulars.targeting import Target
from broadcasts.core.clock import Clock
from broadcasts.core.i18n import locale_for, translations
from broadcasts.delivery.pushes import Push
from broadcasts.staff import audit
from models import (
    Association,
    BatchStatus,
    District,
    DistrictStatus,
    DistrictWelcome,
    FollowStatus,
    Group,
    InterestGroup,
    Resident,
)

# Welcomes pushed per clock tick: a large district is welcomed over a few ticks, and the tick's
# other work (scheduled circulars, reminders) never waits long behind it.
WELCOMES_PER_TICK = 200


class UnknownDistrict(LookupError):
    pass


@dataclass(frozen=True)
class Change:
    district: District
    changed: bool
    # Welcomes added by this activation (0 when the residents were welcomed before).
    welcomes: int = 0


def find(session: Session, code: str) -> District:
    district = session.scalars(select(District).where(District.code == code.strip())).first()
    if district is None:
        raise UnknownDistrict(code)
    return district


def activate(session: Session, clock: Clock, actor_id: int | None, district: District) -> Change:
    """Make `district` active and owe its registered residents their welcome. Flushes."""
    _lock(session, district)
    changed = district.status is not DistrictStatus.active
    if changed:
        district.status = DistrictStatus.active
        district.activated_at = clock.now()
        audit.record(session, clock, actor_id, "district.activated", "district", district.id)
    welcomes = _owe_welcomes(session, district) if changed else 0
    session.flush()
    return Change(district, changed, welcomes)


def prepare(session: Session, clock: Clock, actor_id: int | None, district: District) -> Change:
    """Set `district` back to preparing: circulars can no longer be composed for it."""
    _lock(session, district)
    changed = district.status is not DistrictStatus.preparing
    if changed:
        district.status = DistrictStatus.preparing
        audit.record(session, clock, actor_id, "district.prepared", "district", district.id)
    session.flush()
    return Change(district, changed)


def _lock(session: Session, district: District) -> None:
    """Read the district's status again under a row lock (PostgreSQL), so that of two admins
    switching it at once the second sees the first's change: one audit entry, one verdict."""
    session.refresh(district, with_for_update=True)


def _owe_welcomes(session: Session, district: District) -> int:
    """One welcome per registered, following resident not welcomed to this district before."""
    welcomed = select(DistrictWelcome.resident_id).where(DistrictWelcome.district_id == district.id)
    residents = session.scalars(
        select(Resident.id).where(
            Resident.association_id.in_(
                select(Association.id).where(Association.district_id == district.id)
            ),
            Resident.unregistered_at.is_(None),
            Resident.follow_status == FollowStatus.following,
            Resident.id.not_in(welcomed),
        )
    ).all()
    session.add_all(DistrictWelcome(district_id=district.id, resident_id=r) for r in residents)
    return len(residents)


def preparing_districts(session: Session, target: Target) -> list[str]:
    """Names of the preparing districts `target` touches (directly or through its areas)."""
    touched = or_(
        District.id.in_(target.district_ids),
        District.id.in_(
            select(Association.district_id).where(Association.id.in_(target.association_ids))
        ),
        District.id.in_(
            select(Association.district_id)
            .join(Group, Group.association_id == Association.id)
            .where(Group.id.in_(target.group_ids))
        ),
        # Interest groups and 「役員会」 live in an association or a district too.
        District.id.in_(
            select(Association.district_id).where(
                or_(
                    Association.id.in_(target.staff_association_ids),
                    Association.id.in_(
                        select(InterestGroup.association_id).where(
                            InterestGroup.id.in_(target.interest_group_ids)
                        )
                    ),
                )
            )
        ),
        District.id.in_(
            select(InterestGroup.district_id).where(InterestGroup.id.in_(target.interest_group_ids))
        ),
    )
    return list(
        session.scalars(
            select(District.name)
            .where(District.status == DistrictStatus.preparing, touched)
            .order_by(District.kana, District.id)
        )
    )


def is_preparing(session: Session, resident: Resident) -> str | None:
    """The name of the resident's district while it is preparing; None when it is active."""
    if resident.association_id is None:
        return None
    district = session.scalars(
        select(District)
        .join(Association, Association.district_id == District.id)
        .where(Association.id == resident.association_id)
    ).one()
    return district.name if district.status is DistrictStatus.preparing else None


# --- what residents read ------------------------------------------------------------------------


def welcome_text(district_name: str, language: str | None) -> str:
    _ = translations(locale_for(language)).gettext
    return _(
        "お待たせしました。今日から{name}の回覧がLINEで届きます。"
        "届いた回覧は「回覧を見る」でいつでも見られます。"
    ).format(name=district_name)


# --- what the clock pushes (broadcasts/delivery/pushes.py sends it) -----------------------------


def next_welcome(session: Session, now: datetime) -> DistrictWelcome | None:
    """The next welcome due. Only for a district still active: one set back to preparing would
    be told 「今日から」 wrongly; its welcomes wait, and go out (once) when it starts again."""
    return session.scalars(
        select(DistrictWelcome)
        .join(District, District.id == DistrictWelcome.district_id)
        .where(
            District.status == DistrictStatus.active,
            DistrictWelcome.status == BatchStatus.pending,
            or_(DistrictWelcome.next_attempt_at.is_(None), DistrictWelcome.next_attempt_at <= now),
        )
        .order_by(DistrictWelcome.id)
        .limit(1)
    ).first()


def welcome_push(session: Session, welcome: DistrictWelcome) -> Push:
    """The welcome in the resident's language; nothing, with the reason, for a resident who is
    no longer one to welcome."""
    from linebot.v3.messaging import TextMessage

    resident = session.get_one(Resident, welcome.resident_id)
    district = session.get_one(District, welcome.district_id)
    gone = _not_to_welcome(session, resident, district)
    if gone is not None:
        return Push(skip=gone)
    text = welcome_text(district.name, resident.locale)
    return Push(resident.line_user_id, [TextMessage(text=text)])


def _not_to_welcome(session: Session, resident: Resident, district: District) -> str | None:
    """Why the resident is no longer one to welcome to `district`, or None: they blocked the
    bot, or since the activation unregistered or registered in another district."""
    if resident.follow_status is not FollowStatus.following:
        return "not following"
    if resident.unregistered_at is not None or resident.association_id is None:
        return "unregistered"
    district_id = session.scalar(
        select(Association.district_id).where(Association.id == resident.association_id)
    )
    return None if district_id == district.id else "moved"
