"""The language the bot speaks to a resident: LINE's language at their first follow, or the one
they chose in 「設定」 (kept when they unblock the bot later, see registration.follow).

LINE tells the bot a user's language ("ja", "en", …) on follow. やさしい日本語 is no LINE
language: someone who chose it before LINE ever told Kairan of a follow keeps it with
Japanese LINE.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from broadcasts.core.postbacks import LanguageChoice
from models import EASY_JAPANESE, Resident

# The chooser's postback word → the locale stored on the resident.
LOCALES: dict[LanguageChoice, str] = {"ja": "ja", "en": "en", "easy": EASY_JAPANESE}
LOCALE_LENGTH = 16


def on_follow(current: str, line_language: str | None) -> str:
    """The resident's locale after a follow, from LINE's language for them."""
    if not line_language:
        return current
    if current == EASY_JAPANESE and line_language.split("-")[0].lower() == "ja":
        return current
    return line_language[:LOCALE_LENGTH]


def choose(session: Session, resident: Resident, choice: LanguageChoice) -> str:
    """Store the chosen language; returns the resident's locale."""
    resident.locale = LOCALES[choice]
    session.flush()
    return resident.locale
