from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.staff import invites
from models import Association, District, Role, StaffInvite

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ALICE = "U" + "1" * 32
BOB = "U" + "2" * 32


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def test_a_code_is_stored_only_as_a_hash_and_links_once(
    session: Session, make_district: Callable[..., District]
) -> None:
    district = make_district(code="D07", name="平野校区")
    clock = FixedClock(NOW)
    invite = invites.create_invite(session, clock, Role.promoter, district_code="D07")
    stored = session.scalars(select(StaffInvite)).one()
    assert invite.code.replace("-", "") not in stored.code_hash
    assert stored.expires_at == NOW + timedelta(days=7)

    typed = invites.CODE.typed(" ｋａｉｒａｎ " + invite.code.removeprefix("KAIRAN-").lower())
    assert typed is not None
    linked = invites.redeem(session, clock, ALICE, typed, "推進員")
    assert (linked.status, linked.role, linked.area) == ("linked", Role.promoter, "平野校区")
    assert invites.redeem(session, clock, BOB, typed, None).status == "used"
    assert stored.used_by_id is not None and district.id == stored.district_id


def test_expired_and_mistyped_codes_change_nothing(
    session: Session, make_association: Callable[..., Association]
) -> None:
    make_association(code="A9")
    clock = FixedClock(NOW)
    invite = invites.create_invite(session, clock, Role.officer, association_code="A9")
    code = invites.CODE.typed(invite.code)
    assert code is not None
    assert invites.redeem(session, clock, ALICE, code[:-1], None).status == "unknown"
    clock.at = NOW + timedelta(days=7, seconds=1)
    assert invites.redeem(session, clock, ALICE, code, None).status == "expired"
    assert session.scalars(select(StaffInvite)).one().used_at is None


@pytest.mark.parametrize(
    ("role", "district", "association", "complaint"),
    [
        (Role.promoter, None, None, "--district"),
        (Role.promoter, "NOPE", None, "NOPE"),
        (Role.officer, "D1", None, "--association"),
        (Role.admin, "D1", None, "admin"),
    ],
)
def test_invites_must_name_the_right_area(
    session: Session,
    role: Role,
    district: str | None,
    association: str | None,
    complaint: str,
) -> None:
    with pytest.raises(invites.InviteError, match=complaint):
        invites.create_invite(session, FixedClock(NOW), role, district, association)


def test_plain_words_are_not_taken_for_codes() -> None:
    assert invites.CODE.typed("こんにちは") is None
    assert invites.CODE.typed("kairan") is None
    assert invites.CODE.typed("KAIRAN-ABCD") == "ABCD"
