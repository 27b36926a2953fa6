"""`POST /callback` through Flask's test client, with bodies signed as LINE signs them."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models import (
    Acknowledgement,
    Base,
    Conversation,
    ConversationStep,
    Delivery,
    FollowStatus,
    ProcessedWebhookEvent,
    Resident,
)
from tests.helpers.webhooks import line_event, postback_event, text_event

USER = "U" + "a" * 32
Post = Callable[..., Any]


def stored_rows(session: Session) -> int:
    session.expire_all()
    return sum(
        session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    )


def resident(session: Session, user_id: str = USER) -> Resident | None:
    session.expire_all()
    return session.scalars(select(Resident).where(Resident.line_user_id == user_id)).first()


def test_bad_or_missing_signature_is_refused_and_nothing_is_stored(
    post_webhook: Post, session: Session
) -> None:
    events = [line_event("follow", USER)]
    assert post_webhook(events, signature="bm90IHRoZSBzaWduYXR1cmU=").status_code == 400
    assert post_webhook(events, signature="").status_code == 400
    assert stored_rows(session) == 0


def test_malformed_bodies_are_refused(post_webhook: Post, session: Session) -> None:
    for raw in (b"{not json", b"[]", b'{"events": 3}', b'{"events": [1]}', b"\xff\xfe"):
        assert post_webhook(raw).status_code == 400, raw
    assert stored_rows(session) == 0


def test_lines_verify_call_with_no_events_is_answered_200(post_webhook: Post) -> None:
    assert post_webhook([]).status_code == 200


def test_unknown_event_types_and_fields_are_acknowledged_and_not_stored(
    post_webhook: Post, session: Session
) -> None:
    unknown = line_event("somethingNew", USER, somethingNew={"x": 1})
    join = line_event("join", USER)
    group_follow = line_event("follow", USER, source={"type": "group", "groupId": "C" + "1" * 32})
    standby = line_event("follow", USER, mode="standby")
    response = post_webhook([unknown, join, group_follow, standby])
    assert response.status_code == 200
    assert stored_rows(session) == 0


def test_follow_with_unknown_fields_registers_the_start_of_a_conversation(
    post_webhook: Post, session: Session
) -> None:
    event = line_event("follow", USER, brandNewField={"nested": [1, 2]})
    assert post_webhook([event]).status_code == 200
    follower = resident(session)
    assert follower is not None and follower.follow_status is FollowStatus.following
    conversation = session.get(Conversation, follower.id)
    assert conversation is not None and conversation.step is ConversationStep.district


def test_an_event_delivered_three_times_takes_effect_once(
    post_webhook: Post, session: Session
) -> None:
    follow = line_event("follow", USER)
    assert post_webhook([follow]).status_code == 200
    assert post_webhook([line_event("unfollow", USER)]).status_code == 200
    # The follow again, twice, as LINE redelivers it: it must not unblock the resident.
    redelivered = {**follow, "deliveryContext": {"isRedelivery": True}}
    assert post_webhook([redelivered]).status_code == 200
    assert post_webhook([follow, redelivered]).status_code == 200
    blocked = resident(session)
    assert blocked is not None and blocked.follow_status is FollowStatus.blocked
    assert session.scalar(select(func.count()).select_from(ProcessedWebhookEvent)) == 2


def test_a_follow_or_unfollow_arriving_after_a_newer_one_does_not_undo_it(
    post_webhook: Post, session: Session
) -> None:
    def at(kind: str, second: int) -> dict[str, Any]:
        return line_event(kind, USER, timestamp=1_700_000_000_000 + second * 1000)

    def status() -> FollowStatus:
        found = resident(session)
        assert found is not None
        return found.follow_status

    assert post_webhook([at("follow", 1)]).status_code == 200
    assert post_webhook([at("unfollow", 30)]).status_code == 200
    # LINE delivered a follow from before the unfollow late (its first try had failed).
    late_follow = post_webhook([at("follow", 20)])
    assert late_follow.status_code == 200
    assert status() is FollowStatus.blocked
    assert post_webhook([at("follow", 40)]).status_code == 200
    assert post_webhook([at("unfollow", 35)]).status_code == 200
    assert status() is FollowStatus.following
    # Every one of them counts as handled: LINE has no reason to send any again.
    assert session.scalar(select(func.count()).select_from(ProcessedWebhookEvent)) == 5


def test_a_forged_postback_changes_nothing(
    post_webhook: Post,
    session: Session,
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Any],
) -> None:
    someone = make_resident(line_user_id=USER)
    circular = make_circular()  # never delivered to this resident
    session.commit()
    before = stored_rows(session)
    forged = [
        f"ack:{circular.id}",
        f"ans:{circular.id}:1",
        "ack:1 OR 1=1",
        "reg:a:999999",
        "reg:ok",
        "unreg:ok",
        "x" * 400,
    ]
    for data in forged:
        assert post_webhook([postback_event(USER, data)]).status_code == 200
    # Only the claimed event ids were added.
    assert stored_rows(session) == before + len(forged)
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 0
    still = resident(session)
    assert still is not None and still.id == someone.id and still.association_id is not None


def test_a_staff_code_typed_by_a_resident_is_judged(post_webhook: Post, session: Session) -> None:
    assert post_webhook([text_event(USER, "KAIRAN-0000-0000-0000-0000")]).status_code == 200
    assert post_webhook([text_event(USER, "こんにちは")]).status_code == 200
    # Neither a wrong code nor chatter makes Kairan keep anything about the sender.
    assert resident(session) is None


# --- property: arbitrary signed bodies ----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
KINDS = ["follow", "unfollow", "message", "postback"]
# Parts an event cannot do without. (`source` as a whole is optional for LINE; without a user
# id Kairan has nobody to act for, so dropping `userId` must store nothing either. `replyToken`
# is optional in LINE's schema: an event without one is valid and gets no reply.)
PATHS = [
    ("type",),
    ("mode",),
    ("timestamp",),
    ("webhookEventId",),
    ("deliveryContext",),
    ("deliveryContext", "isRedelivery"),
    ("source", "type"),
    ("source", "userId"),
    ("message",),
    ("message", "type"),
    ("message", "text"),
    ("postback",),
    ("postback", "data"),
]


def _has(event: dict[str, Any], path: tuple[str, ...]) -> bool:
    if len(path) == 1:
        return path[0] in event
    parent = event.get(path[0])
    return isinstance(parent, dict) and path[1] in parent


@st.composite
def broken_events(draw: st.DrawFn) -> Any:
    """A LINE-shaped event with one part broken: a key missing or a value of the wrong type."""
    kind = draw(st.sampled_from(KINDS))
    event: dict[str, Any] = (
        text_event(USER, "設定")
        if kind == "message"
        else postback_event(USER, "menu:settings")
        if kind == "postback"
        else line_event(kind, USER)
    )
    paths = [path for path in PATHS if _has(event, path)]
    path = draw(st.sampled_from(paths))
    target = event[path[0]] if len(path) == 2 else event
    if draw(st.booleans()):
        del target[path[-1]]
    else:
        # A list is the wrong type for every field an event has.
        target[path[-1]] = draw(st.lists(st.integers(), max_size=2))
    return event


bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"events": json_values}),
    st.fixed_dictionaries(
        {"destination": st.text(max_size=5), "events": st.lists(broken_events(), max_size=3)}
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_arbitrary_signed_bodies_never_fail_and_never_store_an_invalid_event(
    post_webhook: Post, session: Session, body: Any
) -> None:
    # The app fixture empties the database per test, not per example: compare before and after.
    before = stored_rows(session)
    response = post_webhook(json.dumps(body).encode())
    assert response.status_code < 500
    assert stored_rows(session) == before


def test_answer_after_the_deadline_is_refused_politely(
    post_webhook: Post,
    session: Session,
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Any],
) -> None:
    from models import AnswerOption, Delivery

    someone = make_resident(line_user_id=USER)
    closed = make_circular(
        question="出席しますか？",
        answer_deadline=datetime.now(UTC) - timedelta(minutes=1),
        options=[AnswerOption(position=1, label="出席"), AnswerOption(position=2, label="欠席")],
    )
    session.add(Delivery(circular=closed, resident=someone))
    session.commit()
    assert post_webhook([postback_event(USER, f"ans:{closed.id}:1")]).status_code == 200
    assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 0


# --- one request, several events: each stands alone (issue #18, item 13) -----------------------


def _confirmed(session: Session) -> set[int]:
    session.expire_all()
    return set(session.scalars(select(Acknowledgement.circular_id)))


def test_a_postback_with_an_id_beyond_the_column_does_not_cost_the_rest_of_the_request(
    post_webhook: Post,
    session: Session,
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    someone = make_resident(line_user_id=USER)
    circular = make_circular()
    session.add(Delivery(circular=circular, resident=someone))
    session.commit()
    bad = postback_event(USER, "ack:2147483648")  # one past PostgreSQL's integer
    good = postback_event(USER, f"ack:{circular.id}")

    with caplog.at_level(logging.INFO):
        response = post_webhook([bad, good])

    assert response.status_code == 200
    assert _confirmed(session) == {circular.id}
    for event in (bad, good):
        assert session.get(ProcessedWebhookEvent, event["webhookEventId"]) is not None
    assert bad["webhookEventId"] in caplog.text
    assert "2147483648" not in caplog.text and USER not in caplog.text


@contextlib.contextmanager
def acknowledgements_refused_for(session: Session, circular_id: int) -> Iterator[None]:
    """A trigger that makes the database refuse one circular's acknowledgements: an effect that
    fails inside its transaction, whatever the cause (a bug, a constraint, a bad value)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "CREATE FUNCTION refuse_ack() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                f" IF NEW.circular_id = {circular_id} THEN RAISE EXCEPTION 'refused'; END IF;"
                " RETURN NEW; END $$"
            )
        )
        session.execute(
            text(
                "CREATE TRIGGER refuse_ack BEFORE INSERT ON acknowledgements"
                " FOR EACH ROW EXECUTE FUNCTION refuse_ack()"
            )
        )
        drop = ["DROP TRIGGER refuse_ack ON acknowledgements", "DROP FUNCTION refuse_ack()"]
    else:
        session.execute(
            text(
                "CREATE TRIGGER refuse_ack BEFORE INSERT ON acknowledgements"
                f" WHEN NEW.circular_id = {circular_id} BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
        drop = ["DROP TRIGGER refuse_ack"]
    session.commit()
    try:
        yield
    finally:
        session.rollback()
        for statement in drop:
            session.execute(text(statement))
        session.commit()


def test_an_event_whose_effect_fails_is_rolled_back_and_the_others_are_applied(
    post_webhook: Post,
    session: Session,
    make_resident: Callable[..., Resident],
    make_circular: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    someone = make_resident(line_user_id=USER)
    refused, first, last = make_circular(), make_circular(), make_circular()
    for circular in (refused, first, last):
        session.add(Delivery(circular=circular, resident=someone))
    session.commit()
    events = [postback_event(USER, f"ack:{c.id}") for c in (first, refused, last)]

    with acknowledgements_refused_for(session, refused.id), caplog.at_level(logging.INFO):
        response = post_webhook(events)
        assert response.status_code == 200
        assert _confirmed(session) == {first.id, last.id}
        # Recorded as handled: a redelivery of it is not tried again.
        failed = events[1]["webhookEventId"]
        assert session.get(ProcessedWebhookEvent, failed) is not None
        assert post_webhook([events[1]]).status_code == 200
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and failed in failures[0].getMessage()
    assert USER not in caplog.text and "INSERT" not in caplog.text
    assert _confirmed(session) == {first.id, last.id}
