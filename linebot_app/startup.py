"""Checks every long-running process makes before it starts serving."""

from __future__ import annotations

import logging
import threading

from flask import Flask
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from linebot_app import create_app
from linebot_app.config import ConfigError
from linebot_app.extensions import db
from linebot_app.schema import schema_problem

log = logging.getLogger(__name__)

# Waits between start-up checks while the database cannot be reached: like the worker's later
# database errors, from 2 s, doubling to half a minute.
FIRST_WAIT = 2.0
LONGEST_WAIT = 30.0


class StartupError(Exception):
    """Why the process will not start, as one bilingual line."""


def check_startup() -> Flask:
    """Build the app and check that its database answers and its schema is current."""
    try:
        app = create_app()
    except ConfigError as error:
        raise StartupError(str(error)) from None
    with app.app_context():
        check_schema()
    return app


def check_schema() -> None:
    """Call inside an app context."""
    try:
        problem = schema_problem(db.engine)
    except SQLAlchemyError as error:
        raise StartupError(
            "データベースに接続できません"
            f" / Cannot connect to the database ({type(error).__name__})"
        ) from None
    if problem:
        raise StartupError(problem)


def wait_for_schema(stop: threading.Event) -> bool:
    """`check_schema`, tried again while the database cannot be reached (restarting, failing
    over, a connection killed mid-check) until `stop` is set; False if stopped first. A schema
    that is not current is no passing fault: StartupError at once. Call inside an app context."""
    wait = FIRST_WAIT
    while True:
        try:
            problem = schema_problem(db.engine)
        except OperationalError as error:
            log.warning(
                "start-up check: database unreachable (%s); trying again in %.0f s",
                type(error).__name__,
                wait,
            )
            if stop.wait(wait):
                return False
            wait = min(wait * 2, LONGEST_WAIT)
            continue
        except SQLAlchemyError as error:
            raise StartupError(
                "データベースに接続できません"
                f" / Cannot connect to the database ({type(error).__name__})"
            ) from None
        if problem:
            raise StartupError(problem)
        return True
