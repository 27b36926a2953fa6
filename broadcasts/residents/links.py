"""Signed links to a circular's detail page, made with itsdangerous and SECRET_KEY.

- Per resident, `KAIRAN_PUBLIC_URL/c/<token>`: the token carries (circular id, resident id),
  expires after `DETAIL_LINK_MAX_AGE` and is sent only in a reply to the resident who tapped
  「詳しく見る」 (the card itself is multicast, identical for up to 500 residents). Opening it
  records an Open; its page can confirm.
- Public, `KAIRAN_PUBLIC_URL/c/public/<token>`: the token carries the circular id only. Printed
  as a QR code on the paper copy; it identifies nobody, records nothing and cannot confirm.

Tokens are signed, not encrypted: they reveal ids, which are not secret; forging or altering one
is what the signature prevents. Each kind has its own salt, so one cannot stand for another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

DETAIL_SALT = "kairan.circular.detail"
PUBLIC_SALT = "kairan.circular.public"
FORM_SALT = "kairan.circular.form"
DETAIL_LINK_MAX_AGE = timedelta(days=90)
# A confirm form older than this is refused; the resident reloads the page and presses again.
FORM_MAX_AGE = timedelta(hours=12)


@dataclass(frozen=True)
class DetailLink:
    circular_id: int
    resident_id: int


def detail_token(secret_key: str, circular_id: int, resident_id: int) -> str:
    return str(
        URLSafeTimedSerializer(secret_key, salt=DETAIL_SALT).dumps([circular_id, resident_id])
    )


def read_detail_token(
    secret_key: str, token: str, max_age: timedelta = DETAIL_LINK_MAX_AGE
) -> DetailLink | None:
    """The link's ids, or None for a token that is forged, altered, malformed or expired."""
    serializer = URLSafeTimedSerializer(secret_key, salt=DETAIL_SALT)
    try:
        value = serializer.loads(token, max_age=int(max_age.total_seconds()))
    except BadSignature:  # SignatureExpired is a BadSignature
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(type(item) is int and item > 0 for item in value)
    ):
        return None
    return DetailLink(value[0], value[1])


def public_token(secret_key: str, circular_id: int) -> str:
    """Never expires: the paper it is printed on may hang on a noticeboard for months."""
    return str(URLSafeSerializer(secret_key, salt=PUBLIC_SALT).dumps(circular_id))


def read_public_token(secret_key: str, token: str) -> int | None:
    try:
        value = URLSafeSerializer(secret_key, salt=PUBLIC_SALT).loads(token)
    except BadSignature:
        return None
    return value if type(value) is int and value > 0 else None


def form_token(secret_key: str, detail: str) -> str:
    """A token for the confirm form of the page at `detail` (its detail token)."""
    return str(URLSafeTimedSerializer(secret_key, salt=FORM_SALT).dumps(detail))


def check_form_token(secret_key: str, token: str, detail: str) -> bool:
    serializer = URLSafeTimedSerializer(secret_key, salt=FORM_SALT)
    try:
        value = serializer.loads(token, max_age=int(FORM_MAX_AGE.total_seconds()))
    except BadSignature:
        return False
    return bool(value == detail)


def detail_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/c/{token}"


def public_url_for(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/c/public/{token}"


PRINT_SALT = "kairan.circular.print"
PRINT_LINK_MAX_AGE = timedelta(days=7)


def print_token(secret_key: str, circular_id: int) -> str:
    """For staff: the print view of a circular (made by the dashboard and the CLI)."""
    return str(URLSafeTimedSerializer(secret_key, salt=PRINT_SALT).dumps(circular_id))


def read_print_token(secret_key: str, token: str) -> int | None:
    serializer = URLSafeTimedSerializer(secret_key, salt=PRINT_SALT)
    try:
        value = serializer.loads(token, max_age=int(PRINT_LINK_MAX_AGE.total_seconds()))
    except BadSignature:
        return None
    return value if type(value) is int and value > 0 else None
