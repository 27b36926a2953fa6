"""Flask extensions and shared clients, created in the factory and reached through the app."""

from flask import current_app
from flask_sqlalchemy_lite import SQLAlchemy

from broadcasts.line import Line
from linebot_app.config import Settings

db = SQLAlchemy()

LINE_EXTENSION = "kairan.line"


def settings() -> Settings:
    """The settings the app was built with."""
    built: Settings = current_app.config["KAIRAN_SETTINGS"]
    return built


def line() -> Line:
    """The app's LINE clients (built from configuration in the factory)."""
    client: Line = current_app.extensions[LINE_EXTENSION]
    return client
