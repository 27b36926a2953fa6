"""Paper households per 班, the 班長 role and its scope, proxy confirmation and coverage."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcasts.circulars import lifecycle
from broadcasts.circulars.release import release
from broadcasts.core.postbacks import ProxyCircular, ProxyHousehold, encode
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from broadcasts.households import paper, proxy_confirmation
from broadcasts.residents import acknowledgements
from broadcasts.staff import invites
from broadcasts.staff.scope import load
from linebot_app.chat import households
from linebot_app.chat.context import Context
from linebot_app.cli import cli
from linebot_app.extensions import line
from models import (
    Association,
    AuditEntry,
    Circular,
    CircularTarget,
    Group,
    ProxyConfirmation,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)
from tests.helpers.clock import FakeClock
from tests.helpers.webhooks import postback_event, text_event


@dataclass
class Town:
    association: Association
    other: Association
    first: Group  # 1班: three LINE residents, two paper households
    second: Group  # 2班: one LINE resident
    leader: StaffMember  # 班長 of 1班
    second_leader: StaffMember  # 班長 of 2班
    officer: StaffMember
    circular: Circular  # to the whole association
    other_circular: Circular  # to 2班 only
    far_circular: Circular  # to another association
    residents: list[Resident]


@pytest.fixture
def town(
    session: Session,
    clock: FakeClock,
    worker: Worker,
    make_association: Callable[..., Association],
    make_staff: Callable[..., StaffMember],
    make_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
) -> Town:
    association = make_association(name="桜町内会", groups=("1班", "2班"), household_count=40)
    other = make_association(name="梅町内会", groups=("1班",))
    first, second = association.groups
    first_ids = make_line_residents(3, association, first)
    make_line_residents(1, association, second)
    make_line_residents(1, other, other.groups[0])
    leader = make_staff(Role.group_leader, group_id=first.id)
    second_leader = make_staff(Role.group_leader, group_id=second.id)
    officer = make_staff(Role.officer, association_id=association.id)
    paper.set_group(session, clock, first, 2, ["山田", ""])
    author = make_staff(Role.admin)
    circulars = []
    for target in (
        CircularTarget(association=association),
        CircularTarget(group=second),
        CircularTarget(association=other),
    ):
        circular = make_circular(author=author, targets=[target])
        result = release(session, clock, circular, remaining_quota(line()))
        assert result.released, result.reason
        circulars.append(circular)
    session.commit()
    worker.drain()
    residents = [
        session.scalars(select(Resident).where(Resident.line_user_id == u)).one() for u in first_ids
    ]
    return Town(
        association, other, first, second, leader, second_leader, officer, *circulars, residents
    )


def coverage_of(session: Session, town: Town, member: StaffMember) -> dict[str, tuple[int, int]]:
    rows = paper.coverage(session, town.circular, load(session, member.id, datetime.now(UTC)))
    return {row.group: (row.covered, row.households) for row in rows}


def test_paper_households_are_kept_per_group_and_the_association_follows(
    session: Session, clock: FakeClock, town: Town
) -> None:
    assert town.association.paper_household_count == 2
    paper.set_group(session, clock, town.second, 3)
    assert town.association.paper_household_count == 5
    kept = paper.active(session, town.first.id)
    paper.set_group(session, clock, town.first, 1, ["佐藤"])
    assert town.association.paper_household_count == 4
    (only,) = paper.active(session, town.first.id)
    assert only.id == kept[0].id and only.label == "佐藤"
    with pytest.raises(paper.PaperError):
        paper.set_group(session, clock, town.first, 1, ["a", "b"])
    with pytest.raises(paper.PaperError):
        paper.set_group(session, clock, town.first, 40)


def test_each_circular_needs_paper_copies_per_group(session: Session, town: Town) -> None:
    copies = lifecycle.paper_copies(session, town.circular)
    assert [(r.group, r.copies) for r in copies.rows] == [("1班", 2), ("2班", 0)]
    only_second = lifecycle.paper_copies(session, town.other_circular)
    assert [(r.group, r.copies) for r in only_second.rows] == [("2班", 0)]
    # An association that keeps no per-班 list still prints its own count.
    town.other.paper_household_count = 6
    far = lifecycle.paper_copies(session, town.far_circular)
    assert [(r.association, r.group, r.copies) for r in far.rows] == [("梅町内会", None, 6)]


def test_the_print_view_prints_the_run_per_group(
    town: Town, dashboard_client: Callable[..., Any]
) -> None:
    page = dashboard_client(town.officer).get(f"/print/{town.circular.id}").get_data(as_text=True)
    cells = re.findall(r"<td>(.*?)</td><td>(.*?)</td><td class=\"num\">(\d+)</td>", page)
    assert cells == [("桜町内会", "1班", "2"), ("桜町内会", "2班", "0")]


def test_a_group_reaches_full_coverage_after_its_leader_confirms_the_paper_households(
    session: Session, clock: FakeClock, town: Town, dashboard_client: Callable[..., Any]
) -> None:
    assert coverage_of(session, town, town.leader) == {"1班": (0, 5)}
    for resident in town.residents:
        acknowledgements.confirm(session, clock, resident, town.circular.id)
    session.commit()
    assert coverage_of(session, town, town.leader) == {"1班": (3, 5)}

    client = dashboard_client(town.leader)
    page_url = f"/dashboard/circulars/{town.circular.id}/groups/{town.first.id}/paper"
    page = client.get(page_url).get_data(as_text=True)
    assert "山田" in page and "紙の世帯 2" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    for household in paper.active(session, town.first.id):
        response = client.post(f"{page_url}/{household.id}", data={"csrf_token": token[1]})
        assert response.status_code == 302
    session.expire_all()
    assert coverage_of(session, town, town.leader) == {"1班": (5, 5)}
    stats_page = client.get(f"/dashboard/circulars/{town.circular.id}").get_data(as_text=True)
    assert f'data-coverage="{town.first.id}">5 / 5 (100.0%)' in stats_page
    # Every proxy confirmation is in the audit log.
    audited = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "paper.proxy_confirmed")
    ).all()
    assert {entry.actor_id for entry in audited} == {town.leader.id} and len(audited) == 2


def test_proxy_confirmations_are_undone_by_their_leader_or_an_officer_only(
    session: Session, clock: FakeClock, town: Town
) -> None:
    first, second = (h.id for h in paper.active(session, town.first.id))
    leader, other, officer = (
        load(session, m.id, clock.now()) for m in (town.leader, town.second_leader, town.officer)
    )
    assert proxy_confirmation.proxy_confirm(session, clock, leader, town.circular.id, first) is True
    assert (
        proxy_confirmation.proxy_confirm(session, clock, leader, town.circular.id, first) is False
    )
    with pytest.raises(paper.PaperError):
        proxy_confirmation.proxy_confirm(session, clock, other, town.circular.id, second)
    with pytest.raises(paper.PaperError):
        proxy_confirmation.undo(session, clock, other, town.circular.id, first)
    # A circular that does not reach 1班 cannot be confirmed for its paper households.
    with pytest.raises(paper.PaperError):
        proxy_confirmation.proxy_confirm(session, clock, leader, town.other_circular.id, second)
    proxy_confirmation.proxy_confirm(session, clock, officer, town.circular.id, second)
    with pytest.raises(paper.PaperError):
        proxy_confirmation.undo(session, clock, leader, town.circular.id, second)
    proxy_confirmation.undo(session, clock, officer, town.circular.id, second)
    proxy_confirmation.undo(session, clock, leader, town.circular.id, first)
    assert session.scalars(select(ProxyConfirmation)).all() == []
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["paper.proxy_undone", "paper.proxy_undone"]


def test_a_group_leader_sees_only_their_own_group(
    session: Session, town: Town, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(town.leader)
    listed = client.get("/dashboard/").get_data(as_text=True)
    assert f'/dashboard/circulars/{town.circular.id}"' in listed
    assert f'/dashboard/circulars/{town.other_circular.id}"' not in listed
    assert f'/dashboard/circulars/{town.far_circular.id}"' not in listed
    statuses = {
        url: client.get(url).status_code
        for url in (
            f"/dashboard/circulars/{town.circular.id}",
            f"/dashboard/circulars/{town.other_circular.id}",
            f"/dashboard/circulars/{town.far_circular.id}",
            f"/dashboard/circulars/{town.circular.id}/groups/{town.first.id}/paper",
            f"/dashboard/circulars/{town.circular.id}/groups/{town.second.id}/paper",
            f"/dashboard/circulars/{town.circular.id}/not-confirmed",
            f"/dashboard/associations/{town.association.id}/groups",
            "/dashboard/associations.csv",
            "/dashboard/staff",
        )
    }
    assert list(statuses.values()) == [200, 404, 404, 200, 404, 404, 404, 404, 404]
    assert client.get("/dashboard/associations").status_code == 302
    # The statistics count 1班 only: three delivered of the five in the association.
    page = client.get(f"/dashboard/circulars/{town.circular.id}").get_data(as_text=True)
    assert '<span class="big" data-stat="delivered">3</span>' in page
    assert "2班" not in page
    officer_page = dashboard_client(town.officer).get(f"/dashboard/circulars/{town.circular.id}")
    assert '<span class="big" data-stat="delivered">4</span>' in officer_page.get_data(as_text=True)


def test_the_groups_page_links_each_recent_circular_to_its_proxy_page(
    session: Session, clock: FakeClock, town: Town, dashboard_client: Callable[..., Any]
) -> None:
    """One tap from the menu to a circular's proxy page, with what is confirmed so far."""
    first_paper = proxy_confirmation.statuses(session, town.circular.id, town.first.id)[
        0
    ].paper_household
    assert proxy_confirmation.proxy_confirm(
        session, clock, load(session, town.leader.id, clock.now()), town.circular.id, first_paper.id
    )
    session.commit()
    page = dashboard_client(town.leader).get("/dashboard/groups").get_data(as_text=True)
    rounds = re.findall(
        r'<li data-circular="(\d+)"><a href="([^"]+)">[^<]*</a>\s*'
        r'<span class="numbers" data-confirmed>([^<]+)</span>',
        page,
    )
    assert rounds == [
        (
            str(town.circular.id),
            f"/dashboard/circulars/{town.circular.id}/groups/{town.first.id}/paper",
            "1 / 2",
        )
    ], "only the circular that reaches 1班, not 2班's or another association's"
    # An officer sees every 班 of the association; 2班 has no paper households to confirm for.
    officer_page = dashboard_client(town.officer).get("/dashboard/groups").get_data(as_text=True)
    assert officer_page.count("<li data-circular=") == 1


def test_paper_households_by_name_are_for_the_leader_and_officers_only(
    session: Session,
    town: Town,
    make_staff: Callable[..., StaffMember],
    dashboard_client: Callable[..., Any],
) -> None:
    """An admin sees the city's coverage, but not who the paper households are: a page whose
    every button would be refused is not offered."""
    admin = make_staff(Role.admin)
    session.commit()
    url = f"/dashboard/circulars/{town.circular.id}/groups/{town.first.id}/paper"
    assert dashboard_client(admin).get(url).status_code == 404
    assert dashboard_client(town.officer).get(url).status_code == 200


def test_a_group_leader_is_invited_from_the_command_line_and_linked_in_line(
    app: Flask, session: Session, town: Town, post_webhook: Callable[..., Any]
) -> None:
    runner = CliRunner()
    refused = runner.invoke(
        cli, ["staff", "invite", "--role", "group_leader", "--association", town.association.code]
    )
    assert refused.exit_code == 2
    result = runner.invoke(
        cli,
        [
            "staff",
            "invite",
            "--role",
            "group_leader",
            "--association",
            town.association.code,
            "--group",
            "2班",
        ],
    )
    assert result.exit_code == 0, result.output
    code = result.output.splitlines()[0]
    user_id = "U" + "9" * 32
    assert post_webhook([text_event(user_id, code)]).status_code == 200
    session.expire_all()
    (role,) = session.scalars(
        select(StaffRole)
        .join(StaffMember, StaffMember.id == StaffRole.staff_member_id)
        .where(StaffMember.line_user_id == user_id)
    ).all()
    assert (role.role, role.group_id, role.association_id) == (
        Role.group_leader,
        town.second.id,
        None,
    )
    with pytest.raises(invites.InviteError):
        invites.create_invite(
            session,
            FakeClock(town.circular.created_at),
            Role.officer,
            None,
            town.association.code,
            "1班",
        )


def test_a_group_leader_proxy_confirms_in_line(
    session: Session, town: Town, post_webhook: Callable[..., Any]
) -> None:
    households = [h.id for h in paper.active(session, town.first.id)]
    leader_user = town.leader.line_user_id
    stranger = town.second_leader.line_user_id
    session.commit()
    listing = encode(ProxyCircular(town.circular.id, town.first.id))
    assert post_webhook([postback_event(leader_user, listing)]).status_code == 200
    assert post_webhook([text_event(leader_user, "代理確認")]).status_code == 200
    for user_id, household in ((stranger, households[0]), (leader_user, households[1])):
        data = encode(ProxyHousehold(town.circular.id, household))
        assert post_webhook([postback_event(user_id, data)]).status_code == 200
    session.expire_all()
    confirmed = session.scalars(select(ProxyConfirmation)).all()
    assert [(c.paper_household_id, c.confirmed_by_id) for c in confirmed] == [
        (households[1], town.leader.id)
    ]


def test_officers_keep_paper_households_per_group_on_the_dashboard(
    session: Session, town: Town, dashboard_client: Callable[..., Any]
) -> None:
    client = dashboard_client(town.officer)
    url = f"/dashboard/associations/{town.association.id}/groups"
    page = client.get(url).get_data(as_text=True)
    assert "山田" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    saved = client.post(
        f"{url}/{town.second.id}/paper",
        data={"csrf_token": token[1], "count": "2", "names": "鈴木\n"},
    )
    assert saved.status_code == 302
    refused = client.post(
        f"{url}/{town.second.id}/paper",
        data={"csrf_token": token[1], "count": "1", "names": "a\nb"},
    )
    assert refused.status_code == 302
    session.expire_all()
    assert [h.label for h in paper.active(session, town.second.id)] == ["鈴木", None]
    assert session.get_one(Association, town.association.id).paper_household_count == 4
    # Kept per 班 now: the association-wide number can no longer be set on its own.
    whole = client.post(
        f"/dashboard/associations/{town.association.id}/paper",
        data={"csrf_token": token[1], "paper_households": "9"},
    )
    assert whole.status_code == 400
    reach = client.get("/dashboard/associations").get_data(as_text=True)
    assert f"/dashboard/associations/{town.association.id}/groups" in reach
    # Another association's 班 are not this officer's.
    assert client.get(f"/dashboard/associations/{town.other.id}/groups").status_code == 404


def test_a_forged_listing_postback_does_not_show_a_circular_that_misses_the_group(
    session: Session, clock: FakeClock, town: Town, make_circular: Callable[..., Circular]
) -> None:
    draft = make_circular(title="まだ下書きの回覧", targets=[CircularTarget(group=town.first)])

    def reply(circular: Circular) -> str:
        shown = households.on_proxy_tap(
            Context(session, clock, town.leader.line_user_id),
            ProxyCircular(circular.id, town.first.id),
        )
        return " ".join(message.text for message in shown)

    assert "見た世帯をえらんでください" in reply(town.circular)
    for elsewhere in (town.far_circular, town.other_circular, draft):
        assert reply(elsewhere) == "この世帯の代理確認はできません。", elsewhere.title
