"""The archive's search reads every version of a circular, not only the Japanese original."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from broadcasts.residents import archive
from models import (
    EASY_JAPANESE,
    Circular,
    CircularStatus,
    CircularTranslation,
    Delivery,
    DeliveryStatus,
    Resident,
)
from tests.helpers.clock import FakeClock


def test_a_resident_finds_a_circular_by_a_word_of_its_translation(
    session: Session,
    clock: FakeClock,
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Circular],
) -> None:
    reader = make_resident(locale="en")
    drill = make_circular(
        title="防災訓練のお知らせ",
        body="日曜日の9時、公園に集合してください。",
        status=CircularStatus.sent,
        released_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    drill.translations = [
        CircularTranslation(language="en", title="Disaster drill", body="Meet at the park."),
        CircularTranslation(language=EASY_JAPANESE, title="くんれん", body="こうえんに きて"),
    ]
    other = make_circular(title="ごみの日", body="火曜日です。", status=CircularStatus.sent)
    for circular in (drill, other):
        session.add(
            Delivery(circular_id=circular.id, resident_id=reader.id, status=DeliveryStatus.sent)
        )
    session.flush()

    def found(word: str) -> list[int]:
        return [entry.circular.id for entry in archive.search(session, clock, reader, word).entries]

    assert found("防災") == [drill.id]
    assert found("drill") == [drill.id]
    assert found("PARK") == [drill.id]
    assert found("こうえん") == [drill.id]
    assert found("drill 火曜日") == []  # every term, in some version of the same circular
