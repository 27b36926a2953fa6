"""Each webhook event takes effect at most once, recorded in the database (not in memory), so
the guarantee holds across web processes, machines and restarts."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broadcasts.core.clock import Clock
from models import ProcessedWebhookEvent

# The column's width; LINE's ids are 26-character ULIDs.
MAX_EVENT_ID_LENGTH = 64
TABLE = cast(Table, ProcessedWebhookEvent.__table__)


def _claim_statement(insert: Any) -> Any:
    return (
        # On the table, not the mapped class: the ORM's bulk-insert path costs more than the
        # INSERT itself, on every event.
        insert(TABLE)
        .values(
            webhook_event_id=bindparam("event_id"),
            event_type=bindparam("event_type"),
            received_at=bindparam("received_at"),
        )
        .on_conflict_do_nothing(index_elements=["webhook_event_id"])
        # RETURNING rather than rowcount: psycopg answers -1 for this INSERT, but a row comes
        # back exactly when one was inserted.
        .returning(TABLE.c.webhook_event_id)
    )


# Built once, not for each event: SQLAlchemy then reuses the statement's cache key and compiled
# form instead of building and hashing the statement again.
CLAIM = {
    "postgresql": _claim_statement(postgresql.insert),
    "sqlite": _claim_statement(sqlite.insert),
}


def claim(session: Session, clock: Clock, webhook_event_id: str, event_type: str) -> bool:
    """Record the event inside the caller's transaction; False if it was handled already.

    INSERT … ON CONFLICT DO NOTHING: when two processes get copies of one event at the same
    moment, the second waits on the first's row and then inserts nothing, so only one applies
    the effect. If the first rolls back, the second goes ahead: the event is then not lost.
    """
    dialect = session.get_bind().dialect.name
    statement = CLAIM["postgresql" if dialect == "postgresql" else "sqlite"]
    parameters = {
        "event_id": webhook_event_id,
        "event_type": event_type,
        "received_at": clock.now(),
    }
    return session.execute(statement, parameters).first() is not None


def already_claimed(session: Session, webhook_event_id: str) -> bool:
    return session.get(ProcessedWebhookEvent, webhook_event_id) is not None
