"""The dashboard's language: Japanese (the source text) or English, through Flask-Babel.

Like the resident-facing text (docs/i18n.md), message ids are the Japanese text and the English
catalogue is a `.po` file compiled in memory the first time it is needed: no `.mo` files live in
the repository. Flask-Babel picks the locale and installs gettext in Jinja; this module only
tells it where the translations come from.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import request, session
from flask_babel import Babel, Domain, get_locale, gettext

from broadcasts.core.i18n import StaffText

LOCALES_DIR = Path(__file__).parent / "locales"
LOCALES = ("ja", "en")
SOURCE_LOCALE = "ja"
LANGUAGE_KEY = "lang"


@functools.cache
def catalogue(locale: str) -> NullTranslations:
    if locale not in LOCALES or locale == SOURCE_LOCALE:
        return NullTranslations()
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        parsed = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, parsed)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


class CatalogueDomain(Domain):  # type: ignore[misc]
    def get_translations(self) -> NullTranslations:
        return catalogue(str(get_locale() or SOURCE_LOCALE))


class DashboardBabel(Babel):  # type: ignore[misc]
    @functools.cached_property
    def domain_instance(self) -> Domain:
        return CatalogueDomain()


def select_locale() -> str:
    """The language the staff member chose, else their browser's, else Japanese."""
    chosen = session.get(LANGUAGE_KEY)
    if chosen in LOCALES:
        return str(chosen)
    return request.accept_languages.best_match(LOCALES, default=SOURCE_LOCALE) or SOURCE_LOCALE


def localized(text: str) -> str:
    """What a service told staff, in the dashboard's language.

    A StaffText is translated with its values (themselves translated when they are StaffText).
    A plain string is looked up as it is: a reason stored on a circular (`hold_reason`) is then
    translated when it has no values, and stays Japanese when it has.
    """
    if isinstance(text, StaffText):
        values = {
            name: localized(value) if isinstance(value, StaffText) else value
            for name, value in text.values.items()
        }
        return str(gettext(text.template, **values))
    # gettext("") is the catalogue's header, not an empty string.
    return str(gettext(text)) if text else text


babel = DashboardBabel()
