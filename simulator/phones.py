"""The browser view: simulated phones showing the chat as the LINE app would.

Pages are rendered once; the conversation itself is drawn by static/phone.js from the control
API, so the browser view exercises the same interface as tests and scripts.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from simulator.context import sim

bp = Blueprint(
    "phones",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/_sim/static",
)


@bp.get("/")
def index() -> str:
    state = sim().state
    with state.lock:
        users = [u.summary() for u in state.users.values()]
        webhook_url = state.webhook.url
    return render_template("index.html", users=users, webhook_url=webhook_url)


@bp.get("/phones/<user_id>")
def phone(user_id: str) -> str:
    state = sim().state
    with state.lock:
        user = state.users.get(user_id)
        if user is None:
            abort(404)
        summary = user.summary()
    return render_template("phone.html", user=summary)
