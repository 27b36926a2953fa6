"""Flask extensions and shared clients, created in the factory and reached through the app."""

from flask import current_app
from flask_sqlalchemy_lite import SQLAlchemy

from broadcasts.line import Line

db = SQLAlchemy()

LINE_EXTENSION = "kairan.line"


def line() -> Line:
    """The app's LINE clients (built from configuration in the factory)."""
    client: Line = current_app.extensions[LINE_EXTENSION]
    return client
