"""The webhook benchmark's second baseline: the least a webhook must do before it answers 200 if
no answered event may be lost or take effect twice — check the signature and parse the body with
line-bot-sdk's `WebhookParser` (as Kairan does), claim each event's `webhookEventId` in the
database (`INSERT … ON CONFLICT DO NOTHING`) and commit. No effect and no reply.

Run by bench/webhook.py on Kairan's database (its own table, `bench_claimed_events`, created
by the benchmark) under the same gunicorn settings, so Kairan can be compared with the ceiling of
durable designs on the same machine as well as with the signature-only baseline_app.py.
"""

from __future__ import annotations

import os

from flask import Flask, request
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import WebhookParser
from sqlalchemy import Column, MetaData, String, Table, create_engine
from sqlalchemy.dialects import postgresql, sqlite

from models.session import (
    normalise_database_url,  # and Kairan's SQLite settings with it
    tune,
)

metadata = MetaData()
claimed = Table(
    "bench_claimed_events", metadata, Column("webhook_event_id", String(64), primary_key=True)
)


def create_app() -> Flask:
    app = Flask(__name__)
    parser = WebhookParser(os.environ["LINE_CHANNEL_SECRET"])
    engine = tune(create_engine(normalise_database_url(os.environ["DATABASE_URL"])))
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    @app.post("/callback")
    def callback() -> tuple[str, int]:
        try:
            events = parser.parse(
                request.get_data(as_text=True), request.headers.get("X-Line-Signature", "")
            )
        except InvalidSignatureError:
            return "bad signature", 400
        with engine.begin() as connection:
            for event in events:
                statement = insert(claimed).values(webhook_event_id=event.webhook_event_id)
                connection.execute(statement.on_conflict_do_nothing())
        return "OK", 200

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        return "ok", 200

    return app
