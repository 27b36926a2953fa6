"""Links into the dashboard: those that leave the web app (sent in LINE or printed by the CLI),
and the `next` addresses the dashboard redirects to."""

from __future__ import annotations

import re

LOGIN_PATH = "/dashboard/login/"
# One slash, then printable ASCII without a second slash at the start or any backslash:
# browsers drop tabs and newlines and read `\` as `/`, so `/\t/evil.example` or
# `/\evil.example` would reach another site. (The dashboard's own paths are all ASCII, and a
# header cannot carry anything else unencoded.)
_SAME_SITE_PATH = re.compile(r"/(?![/\\])[\x21-\x5b\x5d-\x7e]*")


def login_url(public_url: str, token: str) -> str:
    """The login link on the public address (KAIRAN_PUBLIC_URL), whatever host asked for it."""
    return f"{public_url.rstrip('/')}{LOGIN_PATH}{token}"


def same_site_path(target: str | None, fallback: str) -> str:
    """`target` when it is a path of this site, otherwise `fallback`: never an open redirect."""
    if target and _SAME_SITE_PATH.fullmatch(target):
        return target
    return fallback
