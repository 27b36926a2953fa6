"""「回答者一覧」 (issue #20 item 5): who answered what, on a page and in a CSV, scoped exactly as
the circular's statistics are; a free text only for the officers of the resident's association."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.residents import acknowledgements, answers, privacy
from broadcasts.staff.scope import Scope
from broadcasts.stats import respondents
from models import (
    MAX_ID,
    AnswerOption,
    Association,
    AuditEntry,
    Channel,
    Circular,
    CircularStatus,
    CircularTarget,
    Delivery,
    DeliveryStatus,
    District,
    Group,
    QuestionKind,
    Resident,
    Role,
    StaffMember,
)
from tests.helpers.clock import FakeClock

SECRET = '=HYPERLINK("http://evil.example","090-1234-5678")'


@dataclass
class Town:
    people: dict[str, Resident]
    staff: dict[str, StaffMember]
    headcount: Circular  # to district A and association Y
    text: Circular  # the same areas
    choice: Circular  # district A
    silent: Circular  # district A, no question
    other: Circular  # district C only


@pytest.fixture
def town(
    session: Session,
    clock: FakeClock,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
) -> Town:
    a, b, c = make_district(name="A校区"), make_district(name="B校区"), make_district(name="C校区")
    x = make_association(district=a, name="X町内会", groups=("1班", "2班"))
    w = make_association(district=a, name="W町内会")
    y = make_association(district=b, name="Y町内会")
    z = make_association(district=c, name="Z町内会", groups=("3班",))
    one, two = x.groups
    people = {
        "x1": make_resident(association=x, group=one, display_name="@SUM(1)一郎"),
        "x2": make_resident(association=x, group=two, display_name="二郎"),
        "w": make_resident(association=w, display_name="和子"),
        "y": make_resident(association=y, display_name="由美"),
        "z": make_resident(association=z, group=z.groups[0], display_name="善太"),
    }
    admin = make_staff(Role.admin)
    staff = {
        "admin": admin,
        "promoter_a": make_staff(Role.promoter, district_id=a.id),
        "promoter_b": make_staff(Role.promoter, district_id=b.id),
        "promoter_c": make_staff(Role.promoter, district_id=c.id),
        "officer_x": make_staff(Role.officer, association_id=x.id),
        "officer_z": make_staff(Role.officer, association_id=z.id),
        "leader_1": make_staff(Role.group_leader, group_id=one.id),
        "leader_3": make_staff(Role.group_leader, group_id=z.groups[0].id),
    }

    def circular(kind: QuestionKind | None, *targets: CircularTarget, **fields: Any) -> Circular:
        made = make_circular(
            author=admin,
            status=CircularStatus.sent,
            question=None if kind is None else "参加する人数は？",
            question_kind=kind or QuestionKind.choice,
            **fields,
        )
        made.targets = list(targets)
        return made

    headcount = circular(
        QuestionKind.headcount,
        CircularTarget(district_id=a.id),
        CircularTarget(association_id=y.id),
    )
    text = circular(
        QuestionKind.text, CircularTarget(district_id=a.id), CircularTarget(association_id=y.id)
    )
    choice = circular(QuestionKind.choice, CircularTarget(district_id=a.id))
    choice.options = [
        AnswerOption(position=1, label="参加"),
        AnswerOption(position=2, label="-欠席"),
    ]
    silent = circular(None, CircularTarget(district_id=a.id))
    other = circular(QuestionKind.headcount, CircularTarget(district_id=c.id))
    for sent in (headcount, text, choice, silent):
        for key in ("x1", "x2", "w", "y"):
            session.add(Delivery(circular=sent, resident=people[key], status=DeliveryStatus.sent))
    session.add(Delivery(circular=other, resident=people["z"], status=DeliveryStatus.sent))
    session.flush()
    for key, count in (("x1", 3), ("x2", 2), ("w", 5), ("y", 1)):
        assert answers.headcount(session, clock, people[key], headcount.id, count).status == (
            "recorded"
        )
    for key, words in (("x1", SECRET), ("x2", "車いすで行きます"), ("w", "和子の答え")):
        assert answers.free_text(session, clock, people[key], text.id, words).status == "recorded"
    acknowledgements.answer(session, clock, people["x2"], choice.id, 2, Channel.web)
    answers.headcount(session, clock, people["z"], other.id, 4)
    session.commit()
    return Town(people, staff, headcount, text, choice, silent, other)


# --- the service ------------------------------------------------------------------------------


def names(session: Session, circular: Circular, member: StaffMember) -> list[str | None]:
    listed = respondents.listing(session, circular, Scope.of_member(member), 1)
    return [row.name for row in listed.rows]


@pytest.mark.parametrize(
    ("who", "seen", "people"),
    [
        ("admin", ["@SUM(1)一郎", "二郎", "和子", "由美"], 11),
        ("promoter_a", ["@SUM(1)一郎", "二郎", "和子"], 10),
        ("promoter_b", ["由美"], 1),
        ("promoter_c", [], 0),
        ("officer_x", ["@SUM(1)一郎", "二郎"], 5),
        ("officer_z", [], 0),
        ("leader_1", ["@SUM(1)一郎"], 3),
        ("leader_3", [], 0),
    ],
)
def test_respondents_and_headcounts_are_scoped_as_the_statistics(
    who: str, seen: list[str], people: int, town: Town, session: Session
) -> None:
    member = town.staff[who]
    listed = respondents.listing(session, town.headcount, Scope.of_member(member))
    assert sorted(row.name or "" for row in listed.rows) == sorted(seen)
    assert listed.total == len(seen)
    assert (
        listed.people
        == people
        == respondents.people(session, town.headcount.id, Scope.of_member(member))
    )
    assert sum(group.people for group in listed.headcounts) == people


def test_headcounts_are_summed_per_group(town: Town, session: Session) -> None:
    listed = respondents.listing(session, town.headcount, Scope.of_member(town.staff["admin"]))
    per_group = {(g.association_name, g.group_name): g.people for g in listed.headcounts}
    assert per_group == {
        ("W町内会", None): 5,
        ("X町内会", "1班"): 3,
        ("X町内会", "2班"): 2,
        ("Y町内会", None): 1,
    }


@pytest.mark.parametrize(
    ("who", "readable"),
    [
        ("admin", set()),
        ("promoter_a", set()),
        ("officer_x", {SECRET, "車いすで行きます"}),
        ("leader_1", set()),
    ],
)
def test_a_free_text_is_read_only_by_the_officers_of_the_residents_association(
    who: str, readable: set[str], town: Town, session: Session
) -> None:
    listed = respondents.listing(session, town.text, Scope.of_member(town.staff[who]))
    assert {row.text for row in listed.rows if row.text} == readable
    # The others see that an answer was given, not its words.
    assert all(row.text_hidden == (row.text is None) for row in listed.rows)
    assert listed.rows


def test_the_list_is_paged(town: Town, session: Session) -> None:
    scope = Scope.of_member(town.staff["admin"])
    first = respondents.listing(session, town.headcount, scope, page=1, size=3)
    last = respondents.listing(session, town.headcount, scope, page=99, size=3)
    assert (first.pages, len(first.rows), last.page, len(last.rows)) == (2, 3, 2, 1)
    assert {r.name for r in first.rows} | {r.name for r in last.rows} == {
        "@SUM(1)一郎",
        "二郎",
        "和子",
        "由美",
    }


def test_an_anonymised_resident_keeps_the_count_but_not_the_words(
    town: Town, session: Session, clock: FakeClock
) -> None:
    privacy.anonymise(session, clock.now(), town.people["x1"])
    session.commit()
    listed = respondents.listing(session, town.text, Scope.of_member(town.staff["officer_x"]))
    assert SECRET not in {row.text for row in listed.rows}
    assert listed.total == 2


# --- the routes -------------------------------------------------------------------------------

OK, NOT_FOUND, FORBIDDEN, LOGIN = 200, 404, 403, 302


def routes(t: Town) -> dict[str, str]:
    return {
        "page": f"/dashboard/circulars/{t.headcount.id}/respondents",
        "csv": f"/dashboard/circulars/{t.headcount.id}/respondents.csv",
        "other_page": f"/dashboard/circulars/{t.other.id}/respondents",
        "other_csv": f"/dashboard/circulars/{t.other.id}/respondents.csv",
        "silent": f"/dashboard/circulars/{t.silent.id}/respondents",
        "missing": "/dashboard/circulars/999999/respondents",
        "too_large": f"/dashboard/circulars/{MAX_ID + 1}/respondents.csv",
    }


def row(*statuses: int) -> dict[str, int]:
    return dict(zip(["page", "csv", "other_page", "other_csv"], statuses, strict=True)) | {
        "silent": NOT_FOUND if statuses[0] == OK else statuses[0],
        "missing": NOT_FOUND if statuses[0] in (OK, NOT_FOUND) else statuses[0],
        # An id beyond the id columns names no route at all.
        "too_large": NOT_FOUND,
    }


MATRIX = {
    "admin": row(OK, OK, OK, OK),
    "promoter_a": row(OK, OK, NOT_FOUND, NOT_FOUND),
    "promoter_b": row(OK, OK, NOT_FOUND, NOT_FOUND),
    "promoter_c": row(NOT_FOUND, NOT_FOUND, OK, OK),
    "officer_x": row(OK, OK, NOT_FOUND, NOT_FOUND),
    "officer_z": row(NOT_FOUND, NOT_FOUND, OK, OK),
    "leader_1": row(OK, OK, NOT_FOUND, NOT_FOUND),
    "leader_3": row(NOT_FOUND, NOT_FOUND, OK, OK),
    "no_role": row(FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "anonymous": row(LOGIN, LOGIN, LOGIN, LOGIN),
}


@pytest.mark.parametrize("who", list(MATRIX))
def test_every_role_opens_the_list_within_its_scope_only(
    who: str, town: Town, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    member: StaffMember | None = None
    if who == "no_role":
        member = StaffMember(line_user_id="U" + "e" * 32, display_name="元職員")
        session.add(member)
    elif who != "anonymous":
        member = town.staff[who]
    got = {
        name: dashboard_client(member).get(url).status_code for name, url in routes(town).items()
    }
    assert got == MATRIX[who]


def test_the_page_shows_names_groups_answers_and_the_headcount_per_group(
    town: Town, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(town.staff["officer_x"])
    stats = client.get(f"/dashboard/circulars/{town.headcount.id}").get_data(as_text=True)
    assert f"/dashboard/circulars/{town.headcount.id}/respondents" in stats
    assert 'id="people"' in stats and "5" in stats
    page = client.get(f"/dashboard/circulars/{town.headcount.id}/respondents").get_data(
        as_text=True
    )
    assert "@SUM(1)一郎" in page and "二郎" in page and "和子" not in page and "由美" not in page
    assert "1班" in page and "2班" in page and "3人" in page
    assert 'id="people-total">5<' in page
    # Answered at, in Tokyo time (the fake clock is 2026-12-01 00:00 UTC).
    assert "2026-12-01 09:00" in page
    choice = client.get(f"/dashboard/circulars/{town.choice.id}/respondents").get_data(as_text=True)
    assert "-欠席" in choice


def test_free_text_on_the_page_is_for_the_associations_officers_only(
    town: Town, dashboard_client: Callable[..., Any]
) -> None:
    url = f"/dashboard/circulars/{town.text.id}/respondents"
    officer = dashboard_client(town.staff["officer_x"]).get(url).get_data(as_text=True)
    assert "車いすで行きます" in officer
    for who in ("admin", "promoter_a", "leader_1"):
        page = dashboard_client(town.staff[who]).get(url).get_data(as_text=True)
        assert "車いすで行きます" not in page and "090-1234-5678" not in page
        assert "（役員のみ）" in page


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_csv_is_scoped_formula_safe_and_audited(
    town: Town, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    url = f"/dashboard/circulars/{town.text.id}/respondents.csv"
    rows = read_csv(dashboard_client(town.staff["officer_x"]).get(url))
    assert rows[0] == ["名前", "自治会", "班", "選択肢", "人数", "ひとこと", "回答日時（日本時間）"]
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"'@SUM(1)一郎", "二郎"}
    assert by_name["'@SUM(1)一郎"][5] == "'" + SECRET
    assert by_name["二郎"][1:3] == ["X町内会", "2班"]
    for cells in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)

    admin_rows = read_csv(dashboard_client(town.staff["admin"]).get(url))
    assert len(admin_rows) == 4 and all(r[5] == "（役員のみ）" for r in admin_rows[1:])
    assert SECRET not in "".join("".join(r) for r in admin_rows)

    counts = read_csv(
        dashboard_client(town.staff["leader_1"]).get(
            f"/dashboard/circulars/{town.headcount.id}/respondents.csv"
        )
    )
    assert [(r[0], r[2], r[4]) for r in counts[1:]] == [("'@SUM(1)一郎", "1班", "3")]
    choice = read_csv(
        dashboard_client(town.staff["promoter_a"]).get(
            f"/dashboard/circulars/{town.choice.id}/respondents.csv"
        )
    )
    assert [r[3] for r in choice[1:]] == ["'-欠席"]

    audited = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "export.circular")
    ).all()
    assert len(audited) == 4


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[Collected]:
    handler = Collected()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


def test_no_log_line_carries_an_answer_or_a_name(
    town: Town, logs: Collected, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(town.staff["officer_x"])
    for url in routes(town).values():
        client.get(url)
    client.get(f"/dashboard/circulars/{town.text.id}/respondents")
    client.get(f"/dashboard/circulars/{town.text.id}/respondents.csv")
    written = "\n".join(logs.lines)
    for secret in ("090-1234-5678", "車いすで行きます", "一郎", "二郎", "参加する人数"):
        assert secret not in written


def test_a_group_leaders_page_lists_only_their_group(
    town: Town, session: Session, dashboard_client: Callable[..., Any]
) -> None:
    two = session.scalars(select(Group).where(Group.name == "2班")).one()
    assert town.people["x2"].group_id == two.id
    page = (
        dashboard_client(town.staff["leader_1"])
        .get(f"/dashboard/circulars/{town.headcount.id}/respondents")
        .get_data(as_text=True)
    )
    assert "@SUM(1)一郎" in page and "二郎" not in page and "2班" not in page
