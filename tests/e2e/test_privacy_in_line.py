"""Personal data in the LINE conversation (issue #21 item 4): the notice before 「はい」, the
consent registration records, and 「わたしの情報」."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy.orm import Session

from broadcasts.core.clock import SystemClock
from broadcasts.households import families
from linebot_app.extensions import settings
from models import Association, District, Resident
from simulator.testing import SimulatorClient
from tests.helpers.conversation import last, resident_of, tap


def test_registration_shows_the_notice_and_records_consent_and_my_data_answers(
    bot: str,
    app: Flask,
    sim: SimulatorClient,
    session: Session,
    make_district: Callable[..., District],
    make_association: Callable[..., Association],
) -> None:
    district = make_district(name="平野校区", kana="ひらの")
    make_association(district=district, name="楓西町内会", kana="かえでにし")
    session.commit()
    user = sim.create_user("山田 花子")
    sim.follow(user)
    tap(sim, user, "平野校区")
    confirm = tap(sim, user, "楓西町内会")
    assert "この内容で登録します" in confirm["text"]
    assert "【個人情報の取り扱い】" in confirm["text"]
    assert "「わたしの情報」" in confirm["text"]
    resident = resident_of(session, user)
    assert resident is not None and resident.consented_at is None

    tap(sim, user, "はい")
    resident = resident_of(session, user)
    assert resident is not None
    with app.app_context():
        version = settings().privacy_version
    assert resident.consent_version == version and version.startswith("notice-")
    assert resident.consented_at is not None

    sim.text(user, "わたしの情報")
    kept = sim.inbox(user)[-2]["message"]["text"]
    assert "あなたについて保存している情報です。" in kept
    assert "LINEの表示名：山田 花子" in kept
    assert "校区：平野校区" in kept and "自治会：楓西町内会" in kept
    assert user in kept  # the id to give the city with a request
    assert "【個人情報の取り扱い】" in last(sim, user)["text"]

    sim.text(user, "my data")
    assert "山田 花子" in sim.inbox(user)[-2]["message"]["text"]


def test_my_data_from_a_stranger_says_nothing_is_kept(bot: str, sim: SimulatorClient) -> None:
    user = sim.create_user("通りすがり")
    sim.text(user, "わたしの情報")
    assert last(sim, user)["text"] == "あなたについて保存している情報はありません。"


def test_joining_a_family_household_shows_the_notice_and_records_consent(
    bot: str,
    sim: SimulatorClient,
    session: Session,
    make_association: Callable[..., Association],
    make_resident: Callable[..., Resident],
) -> None:
    inviter = make_resident(association=make_association())
    invited = families.invite(session, SystemClock(), inviter)
    session.commit()
    assert invited.code is not None
    joiner = sim.create_user("山田 次郎")
    sim.follow(joiner)
    sim.text(joiner, invited.code)
    joined = last(sim, joiner)["text"]
    assert "家族の世帯に入りました" in joined and "【個人情報の取り扱い】" in joined
    resident = resident_of(session, joiner)
    assert resident is not None and resident.association_id == inviter.association_id
    assert resident.consent_version is not None and resident.consented_at is not None
