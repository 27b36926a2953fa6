"""Every CSV export writes text a spreadsheet would run as a formula as plain text instead
(issue #18, item 16): option labels and imported area names are typed by people."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
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
    InterestGroup,
    Resident,
    Role,
    StaffMember,
)

# What Excel and LibreOffice read as the start of a formula (tab and CR are stripped first).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = ["=1+1", "+2", "-3", "@SUM(1)", "\t=x", "\r=x", "=cmd|' /C calc'!A0"]


@pytest.fixture
def exports(
    session: Session,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
) -> tuple[StaffMember, dict[str, tuple[str, list[str]]]]:
    """A district and associations and 班 with hostile names (as an area import could bring),
    a circular to them whose options have hostile labels; each export and the texts it holds."""
    district = make_district(name="=cmd|' /C calc'!A0")
    admin = make_staff(Role.admin)
    circular = make_circular(author=admin, status=CircularStatus.sent, question="?")
    circular.targets = [CircularTarget(district_id=district.id)]
    circular.options = [AnswerOption(position=i, label=label) for i, label in enumerate(HOSTILE, 1)]
    for i, name in enumerate(HOSTILE):
        association = make_association(district=district, name=name, kana=f"あ{i}", groups=(name,))
        resident = make_resident(association=association, group=association.groups[0])
        session.add(Delivery(circular=circular, resident=resident, status=DeliveryStatus.sent))
        # Each answers the option of its own hostile label (issue #20 item 5's 回答者一覧).
        session.add(
            Acknowledgement(
                circular=circular,
                resident=resident,
                channel=Channel.line,
                answer=circular.options[i],
                answered_at=datetime.now(UTC),
            )
        )
        # A staff name from a bulk import, on a role whose term ends soon (issue #20).
        officer = make_staff(Role.officer, association_id=association.id)
        officer.display_name = name
        officer.roles[0].ends_at = datetime.now(UTC) + timedelta(days=5)
    # Interest groups named by officers (issue #23); a name is kept without tabs or CRs.
    named = [text for text in HOSTILE if not text.startswith(("\t", "\r"))]
    for name in named:
        session.add(
            InterestGroup(
                association_id=association.id, name=name, join_code=f"CODE{len(name)}{name[:1]}"
            )
        )
        session.add(
            InterestGroup(
                district_id=district.id, name=name, join_code=f"DIST{len(name)}{name[:1]}"
            )
        )
    session.commit()
    areas = [district.name, *HOSTILE]
    return admin, {
        "interest-groups.csv": (
            f"/dashboard/associations/{association.id}/interest-groups.csv",
            named,
        ),
        "district-interest-groups.csv": (
            f"/dashboard/districts/{district.id}/interest-groups.csv",
            named,
        ),
        "answers.csv": (f"/dashboard/circulars/{circular.id}/answers.csv", HOSTILE),
        "respondents.csv": (f"/dashboard/circulars/{circular.id}/respondents.csv", HOSTILE),
        "stats.csv": (f"/dashboard/circulars/{circular.id}/stats.csv", areas),
        "reach.csv": ("/dashboard/associations.csv", areas),
        "adoption.csv": ("/dashboard/adoption.csv", areas),
        "roles-ending.csv": ("/dashboard/staff/ending.csv", areas),
    }


@pytest.mark.parametrize(
    "export",
    [
        "answers.csv",
        "respondents.csv",
        "stats.csv",
        "reach.csv",
        "adoption.csv",
        "roles-ending.csv",
        "interest-groups.csv",
        "district-interest-groups.csv",
    ],
)
def test_no_cell_of_an_export_is_a_formula(
    export: str,
    exports: tuple[StaffMember, dict[str, tuple[str, list[str]]]],
    dashboard_client: Callable[..., Any],
) -> None:
    admin, by_name = exports
    url, texts = by_name[export]
    response = dashboard_client(admin).get(url)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows for cell in row]
    assert [cell for cell in cells if cell.startswith(FORMULA_STARTS)] == []
    # The text is all there, shown as typed behind the apostrophe that makes it text.
    for text in texts:
        assert "'" + text in cells, text


def test_the_table_above_covers_every_csv_route(app: Flask) -> None:
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.endswith(".csv")}
    assert routes == {
        "/dashboard/circulars/<int:circular_id>/answers.csv",
        "/dashboard/circulars/<int:circular_id>/respondents.csv",
        "/dashboard/circulars/<int:circular_id>/stats.csv",
        "/dashboard/associations.csv",
        "/dashboard/adoption.csv",
        "/dashboard/staff/ending.csv",
        "/dashboard/associations/<int:association_id>/interest-groups.csv",
        "/dashboard/districts/<int:district_id>/interest-groups.csv",
    }
