"""Links into the dashboard that leave the web app: sent in LINE or printed by the CLI."""

from __future__ import annotations

LOGIN_PATH = "/dashboard/login/"


def login_url(public_url: str, token: str) -> str:
    """The login link on the public address (KAIRAN_PUBLIC_URL), whatever host asked for it."""
    return f"{public_url.rstrip('/')}{LOGIN_PATH}{token}"
