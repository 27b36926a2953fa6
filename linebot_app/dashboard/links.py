"""Links into the dashboard: those that leave the web app (sent in LINE or printed by the CLI),
and the `next` addresses the dashboard redirects to."""

from __future__ import annotations

import re

LOGIN_PATH = "/dashboard/login/"
# One slash, then anything but a second slash or a backslash, and no control characters or
# spaces anywhere: browsers drop tabs and newlines and read `\` as `/`, so `/\t/evil.example`
# or `/\evil.example` would reach another site.
_SAME_SITE_PATH = re.compile(r"/(?![/\\])[^\x00-\x20\x7f\\]*")


def login_url(public_url: str, token: str) -> str:
    """The login link on the public address (KAIRAN_PUBLIC_URL), whatever host asked for it."""
    return f"{public_url.rstrip('/')}{LOGIN_PATH}{token}"


def same_site_path(target: str | None, fallback: str) -> str:
    """`target` when it is a path of this site, otherwise `fallback`: never an open redirect."""
    if target and _SAME_SITE_PATH.fullmatch(target):
        return target
    return fallback
