"""Checks every long-running process makes before it starts serving."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from linebot_app import create_app
from linebot_app.config import ConfigError
from linebot_app.extensions import db
from linebot_app.schema import schema_problem


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
