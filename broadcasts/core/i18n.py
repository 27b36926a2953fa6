"""Resident-facing text in gettext catalogues: Japanese is the source language, English second,
and やさしい日本語 (easy Japanese, "ja-x-easy") for residents who choose it.

Message ids are the Japanese text itself, so Japanese needs no catalogue and a missing English
translation falls back to Japanese rather than to an id nobody can read. The `.po` files are
compiled in memory when first used: no generated `.mo` file lives in the repository
(see docs/i18n.md).
"""

from __future__ import annotations

import functools
import io
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from models import EASY_JAPANESE

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
SOURCE_LOCALE = "ja"
# やさしい日本語's catalogue lives in locales/ja-x-easy (a BCP 47 private-use tag).
LOCALES = (SOURCE_LOCALE, "en", EASY_JAPANESE)


def locale_for(language: str | None) -> str:
    """The catalogue for a LINE language tag ("ja", "en", "zh-Hant", …).

    Japanese readers get Japanese; everyone else gets English, the second language most readers
    of another LINE language are likelier to read than plain Japanese. やさしい日本語 is never a
    LINE language: only a resident who chose it in 「設定」 has it.
    """
    if not language:
        return SOURCE_LOCALE
    if language.lower() == EASY_JAPANESE:
        return EASY_JAPANESE
    primary = language.split("-")[0].lower()
    return SOURCE_LOCALE if primary == SOURCE_LOCALE else "en"


def N_(message: str) -> str:  # noqa: N802 — the name Babel's extractor looks for
    """Marks a constant for the catalogues; it is translated where it is used."""
    return message


class StaffText(str):
    """What a service tells staff (a refusal, a reason): the Japanese text itself, carrying the
    message id and the values the dashboard needs to show it in English.

    The dashboard's catalogue (linebot_app/dashboard/locales) holds the English, not the
    resident-facing ones here: staff read no やさしい日本語. Placeholders are `%(name)s`, as in
    that catalogue. Every other reader (the CLI, logs, LINE) gets the Japanese.
    """

    template: str
    values: dict[str, object]

    def __new__(cls, template: str, **values: object) -> StaffText:
        text = super().__new__(cls, template % values if values else template)
        text.template = template
        text.values = values
        return text


class Refused(ValueError):
    """A service refused what staff asked; `message` (a StaffText, or plain Japanese) says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@functools.cache
def translations(locale: str) -> NullTranslations:
    """Cached per process: the catalogues do not change while it runs."""
    if locale == SOURCE_LOCALE:
        return NullTranslations()
    po_file = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_file.open("rb") as source:
        # Babel knows languages, not private-use tags: やさしい日本語 is read as Japanese.
        catalogue = read_po(source, locale=locale.split("-")[0])
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
