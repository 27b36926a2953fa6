"""`POST /callback`: LINE's webhook.

raw body → signature (400) → parse (400 on anything malformed) → for each event, one
transaction: claim its webhookEventId and hand the event to the chat (linebot_app/chat), which
applies its effect and words the reply → commit → reply. LINE gives up after 2 s, so the request
does database work and at most one reply call per event (plus what the chat fetches before the
transaction, see `chat.context.prepare`). Each event stands alone: one whose effect fails is
rolled back, claimed and logged by id, and the others are applied. Only a database that went
away answers 500, so LINE redelivers; the events committed before it are not applied twice,
their ids are claimed.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import TYPE_CHECKING, Any

import urllib3
from flask import Blueprint, current_app, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from broadcasts import webhook_events
from broadcasts.core.clock import Clock
from broadcasts.delivery import line as line_api
from linebot_app.config import Settings
from linebot_app.extensions import clock, db, line
from linebot_app.metrics import timed_webhook, webhook_event

# line-bot-sdk and the chat (which builds messages) are imported when an event comes: the SDK's
# models are most of a process's start-up (bench/startup.py), and commands never need them.
if TYPE_CHECKING:
    from linebot.v3.messaging import Message

bp = Blueprint("webhook", __name__)
log = logging.getLogger(__name__)

USER_ID = re.compile(r"U[0-9a-f]{32}")


@bp.post("/callback")
@timed_webhook
def callback() -> tuple[str, int]:
    from linebot.v3.exceptions import InvalidSignatureError
    from linebot.v3.webhook import WebhookParser

    signature = request.headers.get("X-Line-Signature")
    if not signature:
        return "missing signature", 400
    try:
        body = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8", 400
    settings: Settings = current_app.config["KAIRAN_SETTINGS"]
    parser = WebhookParser(settings.LINE_CHANNEL_SECRET.get_secret_value())
    try:
        events = parser.parse(body, signature)
    except InvalidSignatureError:
        log.warning("webhook refused: bad signature")
        return "bad signature", 400
    # The SDK's parser indexes and iterates whatever JSON it gets: a body of the wrong shape
    # surfaces as any of these (pydantic's errors are ValueErrors).
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        log.warning("webhook refused: malformed body (%s)", type(error).__name__)
        return "malformed body", 400
    for event in events:
        _process(event)
    return "OK", 200


def _process(event: Any) -> None:
    from linebot.v3.webhooks import GroupSource, UserSource

    from linebot_app.chat import context as chat
    from linebot_app.chat.routes import answer

    event_id = getattr(event, "webhook_event_id", None)
    event_type = str(getattr(event, "type", "?"))[:40]
    if isinstance(getattr(event, "source", None), GroupSource):
        _process_group(event, event_id, event_type)
        return
    sent = chat.parse(event)
    source = getattr(event, "source", None)
    user_id = getattr(source, "user_id", None) if isinstance(source, UserSource) else None
    if (
        sent is None
        or not isinstance(event_id, str)
        or not 0 < len(event_id) <= webhook_events.MAX_EVENT_ID_LENGTH
        or not isinstance(user_id, str)
        or not USER_ID.fullmatch(user_id)
        # Standby: another channel answers this chat (LINE's module channels).
        or getattr(event, "mode", None) != "active"
    ):
        # Acknowledged and not stored: LINE must not redeliver what Kairan will never handle.
        log.info("webhook event %r (%s) ignored", str(event_id)[:64], event_type)
        webhook_event(event_type, "ignored")
        return
    session = db.session
    context = chat.prepare(
        session,
        clock,
        user_id,
        sent,
        handled_before=lambda: webhook_events.already_claimed(session, event_id),
    )
    try:
        if not webhook_events.claim(session, clock, event_id, event_type):
            session.rollback()
            log.info("webhook event %s (%s) already handled", event_id, event_type)
            webhook_event(event_type, "duplicate")
            return
        messages = answer(context, sent)
        resident = context.resident()
        resident_id = resident.id if resident else None
        session.commit()
    except (OperationalError, InterfaceError) as error:
        # The database went away: answer 500 so LINE redelivers the request. Events committed
        # before this one have their ids claimed and are not applied twice. The error's text
        # quotes SQL parameters (LINE user ids, message text): only its type is logged.
        session.rollback()
        log.error(
            "webhook event %s (%s) failed (%s: the database went away); rolled back",
            event_id,
            event_type,
            type(error).__name__,
        )
        raise
    except Exception as error:
        session.rollback()
        _record_failure(session, clock, event_id, event_type, error)
        webhook_event(event_type, "failed")
        return
    log.info("webhook event %s (%s) handled, resident %s", event_id, event_type, resident_id)
    webhook_event(event_type, "handled")
    reply_token = getattr(event, "reply_token", None)
    if messages and reply_token:
        _reply(event_id, reply_token, messages)


def _process_group(event: Any, event_id: Any, event_type: str) -> None:
    """An event from a LINE group (linebot_app/chat/groups.py): the same claim, commit and
    reply as a person's. Chatter is ignored before anything is stored."""
    from linebot_app.chat import groups

    acted = groups.parse(event)
    if (
        acted is None
        or not isinstance(event_id, str)
        or not 0 < len(event_id) <= webhook_events.MAX_EVENT_ID_LENGTH
        or getattr(event, "mode", None) != "active"
    ):
        log.info("webhook event %r (%s) ignored", str(event_id)[:64], event_type)
        webhook_event(event_type, "ignored")
        return
    # Asked before the transaction, as the chat asks for a profile: linking records what a
    # post there will cost.
    members = _member_count(acted.line_group_id) if acted.kind == "code" else None
    session = db.session
    try:
        if not webhook_events.claim(session, clock, event_id, event_type):
            session.rollback()
            log.info("webhook event %s (%s) already handled", event_id, event_type)
            webhook_event(event_type, "duplicate")
            return
        messages = groups.apply(session, clock, acted, members)
        session.commit()
    except (OperationalError, InterfaceError) as error:
        session.rollback()
        log.error(
            "webhook event %s (%s) failed (%s: the database went away); rolled back",
            event_id,
            event_type,
            type(error).__name__,
        )
        raise
    except Exception as error:
        session.rollback()
        _record_failure(session, clock, event_id, event_type, error)
        webhook_event(event_type, "failed")
        return
    log.info("webhook event %s (%s) handled, from a group", event_id, event_type)
    webhook_event(event_type, "handled")
    reply_token = getattr(event, "reply_token", None)
    if messages and reply_token:
        _reply(event_id, reply_token, messages)


def _member_count(line_group_id: str) -> int | None:
    """LINE's count of the group's members (the bot not counted); None when LINE cannot say."""
    from linebot.v3.messaging import ApiException

    client = line()
    try:
        result = client.api.get_group_member_count(line_group_id, _request_timeout=client.timeout)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        log.warning("member count of a group failed (%s)", type(error).__name__)
        return None
    return int(result.count)


def _record_failure(
    session: Session, clock: Clock, event_id: str, event_type: str, error: Exception
) -> None:
    """An event whose effect failed (a bug, a value the database refused) is claimed on its own,
    so a redelivery does not fail again, and logged by id: never the exception's text, which
    quotes SQL parameters (message text, LINE user ids). The request goes on with the others."""
    # Where in our code it failed: the innermost frame outside the installed libraries.
    ours = [
        f for f in traceback.extract_tb(error.__traceback__) if "site-packages" not in f.filename
    ]
    where = f"{ours[-1].filename}:{ours[-1].lineno}" if ours else "?"
    log.error(
        "webhook event %s (%s) failed (%s at %s); rolled back, the others go on",
        event_id,
        event_type,
        type(error).__name__,
        where,
    )
    webhook_events.claim(session, clock, event_id, event_type)
    session.commit()


def _reply(event_id: str, reply_token: str, messages: list[Message]) -> None:
    """After the commit: a failed reply is logged; the effect stands and LINE gets its 200."""
    from linebot.v3.messaging import ApiException

    try:
        line_api.reply(line(), reply_token, messages[:5])
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        log.warning("reply for webhook event %s failed (%s)", event_id, type(error).__name__)
