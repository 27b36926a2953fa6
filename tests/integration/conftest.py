"""Fixtures for integration tests that more than one module uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from models import (
    Acknowledgement,
    AnswerOption,
    Association,
    Channel,
    Circular,
    CircularStatus,
    CircularTarget,
    Delivery,
    DeliveryStatus,
    District,
    Open,
    Resident,
    Role,
    StaffMember,
)
from tests.helpers.clock import FakeClock
from tests.helpers.stats import Sent


@pytest.fixture
def sent(
    session: Session,
    clock: FakeClock,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
) -> Sent:
    """A circular with a question, to X (groups 1班 and 2班) and X2 in district A and Y in B.

    X: 1班 4 sent (3 opened, 2 confirmed: 出席, 欠席), 2班 2 sent + 1 failed (1 confirmed, no
    answer). X2: 2 sent, 1 skipped, none confirmed. Y: 3 sent, all confirmed (出席).
    """
    a = make_district(name="A校区", kana="あ")
    b = make_district(name="B校区", kana="か")
    x = make_association(district=a, name="X町内会", kana="え", groups=("1班", "2班"))
    x2 = make_association(district=a, name="X2町内会", kana="お")
    y = make_association(district=b, name="Y町内会", kana="き")
    admin = make_staff(Role.admin)
    officer_x = make_staff(Role.officer, association_id=x.id)
    circular = make_circular(
        author=admin, status=CircularStatus.sent, question="出席しますか", released_at=clock.now()
    )
    circular.targets = [CircularTarget(district_id=a.id), CircularTarget(association_id=y.id)]
    circular.options = [
        AnswerOption(position=1, label="出席"),
        AnswerOption(position=2, label="欠席"),
    ]
    session.flush()
    yes, no = circular.options

    def resident(association: Association, group: int | None, name: str) -> Resident:
        return make_resident(
            association=association,
            group=association.groups[group] if group is not None else None,
            display_name=name,
        )

    def deliver(r: Resident, status: DeliveryStatus, reason: str | None = None) -> None:
        session.add(Delivery(circular=circular, resident=r, status=status, failure_reason=reason))

    def ack(r: Resident, minutes: int, option: AnswerOption | None = None) -> None:
        session.add(
            Acknowledgement(
                circular=circular,
                resident=r,
                confirmed_at=clock.now() + timedelta(minutes=minutes),
                channel=Channel.line,
                answer_option_id=option.id if option else None,
            )
        )

    x1 = [resident(x, 0, f"一班{i}") for i in range(4)]
    x2g = [resident(x, 1, f"二班{i}") for i in range(3)]
    for r in x1 + x2g[:2]:
        deliver(r, DeliveryStatus.sent)
    deliver(x2g[2], DeliveryStatus.failed, "Invalid request")
    for r in x1[:3]:
        session.add(Open(circular_id=circular.id, resident_id=r.id, opened_at=clock.now()))
    ack(x1[0], 5, yes)
    ack(x1[1], 70, no)
    ack(x2g[0], 75)
    other = [resident(x2, None, f"X2の{i}") for i in range(3)]
    deliver(other[0], DeliveryStatus.sent)
    deliver(other[1], DeliveryStatus.sent)
    deliver(other[2], DeliveryStatus.skipped)
    for i, r in enumerate(resident(y, None, f"Yの{i}") for i in range(3)):
        deliver(r, DeliveryStatus.sent)
        ack(r, 130 + i, yes)
    session.commit()
    return Sent(circular, x, x2, y, officer_x, admin)
