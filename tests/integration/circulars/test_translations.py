"""Circulars in the reader's language: the author's translations and やさしい日本語 version are
saved by the compose service, snapshotted into batches per language, sent as cards and reminders
in that language, and shown on the detail page in it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from broadcasts.circulars import lifecycle, translations
from broadcasts.circulars.release import BATCH_SIZE, release
from broadcasts.circulars.targeting import Target
from broadcasts.circulars.translations import Version
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft, CompositionError
from broadcasts.delivery.line import remaining_quota
from broadcasts.delivery.worker import Worker
from broadcasts.residents import links
from broadcasts.schedule import reminders
from linebot_app.extensions import line
from models import (
    EASY_JAPANESE,
    Association,
    Circular,
    CircularStatus,
    CircularTranslation,
    Delivery,
    DeliveryBatch,
    Resident,
    Role,
    StaffMember,
)
from simulator.testing import SimulatorClient
from tests.helpers.clock import FakeClock
from tests.helpers.settings import TEST_SETTINGS

SECRET = TEST_SETTINGS["SECRET_KEY"]
ENGLISH = Version("en", "Disaster drill", "Meet at the park at 9:00 on Sunday.")
EASY = Version(EASY_JAPANESE, "", "日曜日の 9時に 公園に 来て ください。")


@pytest.fixture
def sakura(make_association: Callable[..., Association]) -> Association:
    return make_association(name="桜町内会")


@pytest.fixture
def officer(make_staff: Callable[..., StaffMember], sakura: Association) -> StaffMember:
    return make_staff(Role.officer, association_id=sakura.id)


@pytest.fixture
def compose_circular(
    session: Session, clock: FakeClock, officer: StaffMember, sakura: Association
) -> Callable[..., Circular]:
    def make(*versions: Version) -> Circular:
        return drafts.save_draft(
            session,
            clock,
            officer,
            CircularDraft(
                title="防災訓練のお知らせ",
                body="日曜日の9時、公園に集合してください。",
                targets=Target.of(associations=[sakura.id]),
                translations=versions,
            ),
        )

    return make


def set_locales(session: Session, locales: dict[str, str]) -> None:
    for user_id, locale in locales.items():
        session.execute(
            update(Resident).where(Resident.line_user_id == user_id).values(locale=locale)
        )
    session.commit()


def release_and_send(
    session: Session, clock: FakeClock, worker: Worker, circular: Circular
) -> None:
    result = release(session, clock, circular, remaining_quota(line()))
    assert result.released, result.reason
    session.commit()
    worker.drain()


# --- the compose service -----------------------------------------------------------------------


def test_compose_saves_versions_and_edits_replace_them(
    session: Session,
    clock: FakeClock,
    officer: StaffMember,
    compose_circular: Callable[..., Circular],
) -> None:
    circular = compose_circular(ENGLISH, EASY)
    session.commit()
    session.expire_all()
    assert {v.language: v.title for v in drafts.draft_of(circular).translations} == {
        "en": "Disaster drill",
        # An empty やさしい日本語 title keeps the original's.
        EASY_JAPANESE: "防災訓練のお知らせ",
    }
    draft = drafts.draft_of(circular)
    # Saved again through every rule (as composing in LINE does), nothing is lost.
    drafts.save_draft(session, clock, officer, draft, circular)
    assert len(drafts.draft_of(circular).translations) == 2
    # Emptying a version removes it.
    drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(
            title=draft.title,
            body=draft.body,
            targets=draft.targets,
            translations=[ENGLISH, Version(EASY_JAPANESE, "", "")],
        ),
        circular,
    )
    session.commit()
    assert session.scalars(select(CircularTranslation.language)).all() == ["en"]


def test_a_correction_keeps_the_versions_its_author_wrote(
    session: Session,
    clock: FakeClock,
    officer: StaffMember,
    sakura: Association,
    compose_circular: Callable[..., Circular],
    make_line_residents: Callable[..., list[str]],
) -> None:
    make_line_residents(1, sakura)
    original = compose_circular(ENGLISH)
    assert lifecycle.send_now(session, clock, officer, original, None).released
    fixed = Version("en", "Disaster drill (corrected)", "Meet at the school at 9:00 on Sunday.")
    correction = lifecycle.correct(
        session,
        clock,
        officer,
        original,
        CircularDraft(
            title="防災訓練のお知らせ",
            body="日曜日の9時、学校に集合してください。",
            translations=[fixed, EASY],
        ),
    )
    session.commit()
    session.expire_all()
    assert {v.language: v.title for v in drafts.draft_of(correction).translations} == {
        "en": fixed.title,
        EASY_JAPANESE: "【訂正】防災訓練のお知らせ",
    }


@pytest.mark.parametrize(
    ("version", "field"),
    [
        (Version("en", "", "Body only"), "translation:en"),
        (Version("en", "Title only", ""), "translation:en"),
        (Version("english", "T", "B"), "translation:english"),
        (Version("ja", "T", "B"), "translation:ja"),
        (Version("en", "T" * 101, "B"), "translation:en"),
    ],
)
def test_compose_refuses_a_broken_version_and_saves_nothing(
    session: Session,
    compose_circular: Callable[..., Circular],
    version: Version,
    field: str,
) -> None:
    with pytest.raises(CompositionError) as refused:
        compose_circular(version)
    assert refused.value.field == field
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Circular)) == 0


# --- which version a resident reads ------------------------------------------------------------


LOCALES = [
    "ja",
    "en",
    "en-US",
    "EN-gb",
    "zh-Hant",
    "zh-TW",
    "zh",
    "ko",
    "ja-x-easy",
    "ja-JP",
    "",
    "x",
]
AVAILABLE = [[], ["en"], ["en", EASY_JAPANESE], ["zh-Hant", "zh"], ["zh"], ["ko", "en"]]


@pytest.mark.parametrize("available", AVAILABLE)
def test_the_snapshot_and_the_page_pick_the_same_version(
    session: Session,
    make_resident: Callable[..., Resident],
    sakura: Association,
    available: list[str],
) -> None:
    """`language_of` (SQL, the snapshot) and `language_for` (Python, the page) agree."""
    residents = [make_resident(association=sakura, locale=locale) for locale in LOCALES]
    chosen = dict(
        session.execute(
            select(Resident.id, translations.language_of(Resident.locale, available)).where(
                Resident.id.in_([r.id for r in residents])
            )
        ).all()
    )
    assert chosen == {r.id: translations.language_for(r.locale, available) for r in residents}


# --- cards, reminders and the page, through the simulator --------------------------------------


def test_an_english_resident_gets_the_english_card_and_page_and_a_japanese_one_japanese(
    app: Flask,
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    sakura: Association,
    make_line_residents: Callable[..., list[str]],
    compose_circular: Callable[..., Circular],
) -> None:
    japanese, english, american, easy, korean = make_line_residents(5, sakura)
    set_locales(session, {english: "en", american: "en-US", easy: EASY_JAPANESE, korean: "ko"})
    circular = compose_circular(ENGLISH, EASY)
    session.commit()
    release_and_send(session, clock, worker, circular)

    cards = {user: sim.inbox(user) for user in (japanese, english, american, easy, korean)}
    assert all(len(inbox) == 1 for inbox in cards.values())
    alt = {user: inbox[0]["message"]["altText"] for user, inbox in cards.items()}
    assert alt[japanese] == "【回覧・桜町内会】防災訓練のお知らせ（確認をお願いします）"
    assert alt[english] == "[Circular · 桜町内会] Disaster drill (please confirm)"
    assert alt[american] == alt[english]
    assert alt[easy].startswith("【回覧（かいらん）・桜町内会】防災訓練のお知らせ")
    # No Korean version: the original, in the same multicast as the Japanese readers.
    assert alt[korean] == alt[japanese]
    english_card = str(cards[english][0]["message"]["contents"])
    assert "Meet at the park" in english_card and "Details" in english_card
    assert "集合" not in english_card
    japanese_card = str(cards[japanese][0]["message"]["contents"])
    assert "集合" in japanese_card and "詳しく見る" in japanese_card
    assert "くわしく 見る" in str(cards[easy][0]["message"]["contents"])

    # One multicast per language: never a batch that mixes them.
    session.expire_all()
    batches = session.scalars(select(DeliveryBatch).order_by(DeliveryBatch.language)).all()
    assert [b.language for b in batches] == ["en", "ja", EASY_JAPANESE]
    for batch in batches:
        locales = session.scalars(
            select(Resident.locale)
            .join(Delivery, Delivery.resident_id == Resident.id)
            .where(Delivery.batch_id == batch.id)
        ).all()
        assert {translations.language_for(locale, ["en", EASY_JAPANESE]) for locale in locales} == {
            batch.language
        }

    # The detail page follows the resident's language, and offers the others.
    client = app.test_client()

    def page(user: str, query: str = "") -> str:
        resident = session.scalars(select(Resident).where(Resident.line_user_id == user)).one()
        token = links.detail_token(SECRET, circular.id, resident.id)
        response = client.get(f"/c/{token}{query}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    english_page = page(english)
    assert '<html lang="en">' in english_page and "Disaster drill" in english_page
    assert "Meet at the park" in english_page and "集合" not in english_page
    assert "やさしい日本語" in english_page and "日本語" in english_page
    japanese_page = page(japanese)
    assert '<html lang="ja">' in japanese_page and "公園に集合" in japanese_page
    assert "Meet at the park" not in japanese_page
    assert "公園に 来て" in page(easy)
    # A reader may switch: the English resident reads the Japanese original on request.
    assert "公園に集合" in page(english, "?lang=ja")
    # An unknown language falls back to the reader's own rather than failing.
    assert "Disaster drill" in page(english, "?lang=fr")


def test_reminders_follow_the_language_of_the_card(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    sakura: Association,
    make_line_residents: Callable[..., list[str]],
    compose_circular: Callable[..., Circular],
) -> None:
    japanese, english = make_line_residents(2, sakura)
    set_locales(session, {english: "en"})
    circular = compose_circular(ENGLISH)
    session.commit()
    release_and_send(session, clock, worker, circular)
    clock.advance(hours=25)
    due = reminders.DueReminder(circular.id, "reminder-1", clock.now() - timedelta(hours=1))
    assert reminders.release_reminder(session, clock, due) == 2
    session.commit()
    worker.drain()
    assert (
        sim.inbox(english)[-1]["message"]["altText"] == "[Circular] Please confirm: Disaster drill"
    )
    assert (
        sim.inbox(japanese)[-1]["message"]["altText"] == "【回覧】確認のお願い：防災訓練のお知らせ"
    )


def test_one_worker_sends_each_circular_and_language_its_own_card(
    session: Session,
    clock: FakeClock,
    sim: SimulatorClient,
    worker: Worker,
    officer: StaffMember,
    sakura: Association,
    make_line_residents: Callable[..., list[str]],
    compose_circular: Callable[..., Circular],
) -> None:
    """The worker builds each message once and keeps it: never for another circular's batch,
    nor another language's or slot's."""
    japanese, english = make_line_residents(2, sakura)
    set_locales(session, {english: "en"})
    drill = compose_circular(ENGLISH)
    session.commit()
    release_and_send(session, clock, worker, drill)
    festival = drafts.save_draft(
        session,
        clock,
        officer,
        CircularDraft(
            title="夏祭りのお知らせ",
            body="8月1日に公園で夏祭りをします。",
            targets=Target.of(associations=[sakura.id]),
            translations=(Version("en", "Summer festival", "The festival is on August 1."),),
        ),
    )
    session.commit()
    release_and_send(session, clock, worker, festival)
    clock.advance(hours=25)
    due = reminders.DueReminder(drill.id, "reminder-1", clock.now() - timedelta(hours=1))
    assert reminders.release_reminder(session, clock, due) == 2
    session.commit()
    worker.drain()

    def alt_texts(user: str) -> list[str]:
        return [message["message"]["altText"] for message in sim.inbox(user)]

    assert alt_texts(japanese) == [
        "【回覧・桜町内会】防災訓練のお知らせ（確認をお願いします）",
        "【回覧・桜町内会】夏祭りのお知らせ（確認をお願いします）",
        "【回覧】確認のお願い：防災訓練のお知らせ",
    ]
    assert alt_texts(english) == [
        "[Circular · 桜町内会] Disaster drill (please confirm)",
        "[Circular · 桜町内会] Summer festival (please confirm)",
        "[Circular] Please confirm: Disaster drill",
    ]


def test_batches_are_cut_at_500_within_each_language(
    session: Session,
    clock: FakeClock,
    sakura: Association,
    make_line_residents: Callable[..., list[str]],
    compose_circular: Callable[..., Circular],
) -> None:
    users = make_line_residents(BATCH_SIZE + 3, sakura)
    set_locales(session, dict.fromkeys(users[: BATCH_SIZE + 1], "en"))
    circular = compose_circular(ENGLISH)
    session.commit()
    result = release(session, clock, circular, None)
    assert result.released and result.batches == 3
    sizes = session.execute(
        select(DeliveryBatch.language, func.count(Delivery.id))
        .join(Delivery, Delivery.batch_id == DeliveryBatch.id)
        .group_by(DeliveryBatch.id, DeliveryBatch.language)
        .order_by(DeliveryBatch.language, func.count(Delivery.id).desc())
    ).all()
    assert [tuple(row) for row in sizes] == [("en", BATCH_SIZE), ("en", 1), ("ja", 2)]
    # Every targeted resident exactly once.
    assert session.scalar(select(func.count(func.distinct(Delivery.resident_id)))) == len(users)


# --- the compose form ---------------------------------------------------------------------------


def test_the_compose_form_takes_easy_japanese_and_the_configured_translations(
    session: Session,
    officer: StaffMember,
    sakura: Association,
    dashboard_client: Callable[..., Any],
) -> None:
    client = dashboard_client(officer)
    html = client.get("/dashboard/compose").get_data(as_text=True)
    for key in ("version-ja-x-easy", "version-en"):
        assert f'for="{key}-title"' in html and f'for="{key}-body"' in html
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    fields = {
        "csrf_token": token.group(1) if token else "",
        "title": "防災訓練のお知らせ",
        "body": "日曜日の9時、公園に集合。",
        "confirmation_required": "y",
        "associations": [str(sakura.id)],
        "version-ja-x-easy-body": "日曜日の 9時に 公園に 来て ください。",
        "version-en-title": "Disaster drill",
        "version-en-body": "",
    }
    refused = client.post("/dashboard/compose", data=fields)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    # The author's words are kept on the refused form, and the reason is shown.
    assert "Disaster drill" in page and "日曜日の 9時に" in page and "本文を入れてください" in page
    assert session.scalar(select(func.count()).select_from(Circular)) == 0

    saved = client.post(
        "/dashboard/compose", data={**fields, "version-en-body": "Meet at the park at 9."}
    )
    assert saved.status_code == 302
    session.expire_all()
    circular = session.scalars(select(Circular)).one()
    assert {v.language: v.body for v in drafts.draft_of(circular).translations} == {
        "en": "Meet at the park at 9.",
        EASY_JAPANESE: "日曜日の 9時に 公園に 来て ください。",
    }
    edit = client.get(f"/dashboard/compose/{circular.id}").get_data(as_text=True)
    assert "Meet at the park at 9." in edit and "Disaster drill" in edit


def test_the_public_page_follows_the_browsers_language(
    app: Flask, session: Session, compose_circular: Callable[..., Circular]
) -> None:
    circular = compose_circular(ENGLISH)
    circular.status = CircularStatus.sent
    session.commit()
    client = app.test_client()
    url = "/c/public/" + links.public_token(SECRET, circular.id)
    english = client.get(url, headers={"Accept-Language": "en-US,en;q=0.9,ja;q=0.5"})
    assert "Disaster drill" in english.get_data(as_text=True)
    assert "Accept-Language" in english.headers["Vary"]
    japanese = client.get(url, headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "防災訓練のお知らせ" in japanese and "Disaster drill" not in japanese
    assert "防災訓練のお知らせ" in client.get(url).get_data(as_text=True)
