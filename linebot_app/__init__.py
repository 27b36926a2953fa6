"""Kairan's web application: the app factory."""

from __future__ import annotations

import inspect
from datetime import timedelta
from pathlib import Path

from flask import Flask

from broadcasts.core.clock import Clock, SystemClock
from linebot_app.config import DatabaseSettings, Settings, load_database_settings, load_settings
from linebot_app.extensions import CLOCK_EXTENSION, db
from linebot_app.ids import IdConverter
from linebot_app.logs import configure_logging
from models.session import tune

# Keep every connection a process has opened, and open as many as its threads use at once (a web
# worker's threads, the delivery worker's senders). SQLAlchemy's default keeps 5 and closes any
# further one as soon as it is returned: with eight senders, one fan-out benchmark (both of its
# circulars) connected to PostgreSQL 63 times instead of 31.
POOL = {"pool_size": 0, "max_overflow": -1}


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Flask:
    """Build the web app: `create_process_app` with the dashboard, the resident pages and the
    webhook."""
    app = create_process_app(settings, clock)
    init_dashboard(app)
    register_blueprints(app)
    return app


def create_process_app(settings: Settings | None = None, clock: Clock | None = None) -> Flask:
    """The app the worker and the clock run in: the settings, the database, the clock and LINE,
    without the web's pages, which they never serve and would only be slower to start with.

    Reads settings (from the environment when none are given) and never touches the database or
    the network: checks that need them run at process start-up. Everything the app does asks
    `clock` the time (the system's unless a test gives one)."""
    app = Flask(__name__, instance_relative_config=True)
    settings = settings or load_settings()
    configure(app, settings)
    configure_logging(settings.KAIRAN_LOG_LEVEL, settings.KAIRAN_LOG_FORMAT)
    app.extensions[CLOCK_EXTENSION] = clock or SystemClock()
    db.init_app(app)
    drop_async_teardowns(app)
    with app.app_context():
        for engine in db.engines.values():
            tune(engine)
    return app


def create_database_app(settings: DatabaseSettings | None = None) -> Flask:
    """An app holding only the database, for the commands that need nothing else (`kairan db
    upgrade`, `kairan import areas`): a migration must run before LINE's channel exists."""
    app = Flask(__name__, instance_relative_config=True)
    settings = settings or load_database_settings()
    app.config.update(SQLALCHEMY_ENGINES=engines(app, settings))
    configure_logging(settings.KAIRAN_LOG_LEVEL, settings.KAIRAN_LOG_FORMAT)
    app.extensions[CLOCK_EXTENSION] = SystemClock()
    db.init_app(app)
    drop_async_teardowns(app)
    with app.app_context():
        for engine in db.engines.values():
            tune(engine)
    return app


def engines(app: Flask, settings: DatabaseSettings) -> dict[str, dict[str, object]]:
    database_url = settings.DATABASE_URL or default_database_url(app.instance_path)
    return {
        "default": {
            "url": database_url,
            "pool_pre_ping": True,
            # A database error's text would quote the values bound to its statement (LINE
            # user ids, message text) into tracebacks and logs.
            "hide_parameters": True,
            **POOL,
        }
    }


def configure(app: Flask, settings: Settings) -> None:
    app.config.update(
        KAIRAN_SETTINGS=settings,
        SECRET_KEY=settings.SECRET_KEY.get_secret_value(),
        SQLALCHEMY_ENGINES=engines(app, settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not settings.KAIRAN_DEMO,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        # A dashboard login lasts 8 hours from the moment its link was used (see dashboard.auth).
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
    )


def drop_async_teardowns(app: Flask) -> None:
    """flask-sqlalchemy-lite also registers a teardown for async sessions, which Kairan never
    opens. Flask runs an async teardown through asgiref, which starts a thread at the end of
    every request: about a millisecond per webhook on the benchmark machine, for nothing. Dropped
    before the app's first context: that thread, started while the worker or the clock is
    building its app, does not block SIGTERM, and a stop sent then would kill the process
    (linebot_app.cli.common.stop_on_signal)."""
    app.teardown_appcontext_funcs[:] = [
        teardown
        for teardown in app.teardown_appcontext_funcs
        if not inspect.iscoroutinefunction(teardown)
    ]


def default_database_url(instance_path: str) -> str:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'kairan.sqlite3'}"


def init_dashboard(app: Flask) -> None:
    """The dashboard's language (Flask-Babel; Japanese first, English second). Its forms carry
    CSRF tokens through Flask-WTF's FlaskForm."""
    from linebot_app.dashboard.i18n import babel, select_locale

    babel.init_app(
        app, default_locale="ja", default_timezone="Asia/Tokyo", locale_selector=select_locale
    )


def register_blueprints(app: Flask) -> None:
    # Before any route is added: each rule takes its converter when it is added.
    app.url_map.converters["int"] = IdConverter
    from linebot_app.circulars.views import bp as circulars_bp
    from linebot_app.dashboard.views import bp as dashboard_bp
    from linebot_app.health import bp as health_bp
    from linebot_app.metrics import bp as metrics_bp
    from linebot_app.webhook.views import bp as webhook_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(circulars_bp)
    app.register_blueprint(webhook_bp)
    app.register_blueprint(dashboard_bp)
