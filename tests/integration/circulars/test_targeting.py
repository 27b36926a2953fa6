"""Targeting on the sample areas: each resident once, however the target overlaps."""

import itertools
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.circulars.targeting import Target, reach, recipient_ids
from broadcasts.rollout import area_file, areas
from models import Association, District, FollowStatus, Group, Resident
from tests.helpers.settings import SAMPLE_AREAS

SERIAL = itertools.count(1)


@pytest.fixture
def city(session: Session) -> list[Association]:
    """The sample areas, with residents in the first district with groups."""
    areas.import_areas(session, area_file.parse(SAMPLE_AREAS.read_bytes()))
    return list(session.scalars(select(Association).order_by(Association.code)))


def add_residents(
    session: Session,
    association: Association,
    count: int,
    group: Group | None = None,
    **fields: object,
) -> list[Resident]:
    residents = [
        Resident(
            line_user_id=f"U{next(SERIAL):032x}",
            association=association,
            group=group,
            **fields,
        )
        for _ in range(count)
    ]
    session.add_all(residents)
    session.flush()
    return residents


def test_overlapping_targets_count_each_resident_once(
    session: Session, city: list[Association]
) -> None:
    with_groups = next(a for a in city if len(a.groups) >= 2)
    district: District = with_groups.district
    neighbour = next(a for a in city if a.district_id == district.id and a is not with_groups)
    elsewhere = next(a for a in city if a.district_id != district.id)
    group_one, group_two = with_groups.groups[:2]
    in_group_one = add_residents(session, with_groups, 3, group_one)
    add_residents(session, with_groups, 2, group_two)
    add_residents(session, with_groups, 4)
    add_residents(session, neighbour, 5)
    add_residents(session, elsewhere, 7)

    assert reach(session, Target.of(groups=[group_one.id])).recipients == 3
    assert reach(session, Target.of(associations=[with_groups.id])).recipients == 9
    overlapping = Target.of(
        districts=[district.id], associations=[with_groups.id], groups=[group_one.id]
    )
    assert reach(session, overlapping).recipients == 14
    everything = Target.of(districts={a.district_id for a in city})
    assert reach(session, everything).recipients == 21
    ids = set(session.scalars(recipient_ids(overlapping)))
    assert {r.id for r in in_group_one} <= ids
    assert len(ids) == 14


def test_blocked_and_unregistered_residents_are_not_recipients(
    session: Session, city: list[Association], make_resident: Callable[..., Resident]
) -> None:
    association = city[0]
    add_residents(session, association, 3)
    add_residents(session, association, 2, follow_status=FollowStatus.blocked)
    make_resident(association=None)
    target = Target.of(districts=[association.district_id])
    result = reach(session, target)
    assert result.recipients == 3
    assert result.quota_messages == 3


def test_an_empty_target_reaches_nobody(session: Session, city: list[Association]) -> None:
    add_residents(session, city[0], 3)
    assert Target().is_empty()
    assert reach(session, Target()).recipients == 0
