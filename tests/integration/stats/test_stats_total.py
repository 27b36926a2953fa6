"""`by_area.total` (the stats page's summary, added up from the breakdown instead of a second pass
over 100,000 deliveries) equals `circular_counts.summary` in every scope (issue #9)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from broadcasts.staff.scope import Scope
from broadcasts.stats.by_area import breakdown, total
from broadcasts.stats.circular_counts import summary
from models import Delivery, DeliveryStatus, Resident
from tests.helpers.stats import Sent


def test_the_breakdown_adds_up_to_the_summary_in_every_scope(
    session: Session,
    sent: Sent,
    make_resident: Callable[..., Resident],
) -> None:
    # A recipient who has since left their association counts under "（登録なし）".
    session.add(
        Delivery(
            circular=sent.circular,
            resident=make_resident(association=None),
            status=DeliveryStatus.pending,
        )
    )
    session.commit()
    scopes = [
        Scope(sent.admin.id, city=True),
        Scope(sent.officer_x.id, association_ids=frozenset({sent.x.id})),
        Scope(sent.admin.id, district_ids=frozenset({sent.x.district_id})),
        Scope(sent.admin.id, association_ids=frozenset({sent.x2.id, sent.y.id})),
    ]
    for scope in scopes:
        rows = breakdown(session, sent.circular.id, scope)
        assert total(rows) == summary(session, sent.circular.id, scope)
    city = total(breakdown(session, sent.circular.id, scopes[0]))
    assert (city.recipients, city.pending, city.confirmed) == (14, 1, 6)
