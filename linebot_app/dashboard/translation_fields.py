"""The compose form's やさしい日本語 version and translations (one title, body and, optionally,
the question and its answer labels, one a line, per language).

The languages are configuration (KAIRAN_LANGUAGES), so these inputs are not WTForms fields of
the form class: they are read from the same POST, which the form's CSRF token protects, and
handed to broadcasts.composing.drafts in the draft, whose rules
(broadcasts.circulars.translations.clean) decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _

from broadcasts.circulars.translations import Version
from linebot_app.circulars.views import language_name
from linebot_app.extensions import settings
from models import EASY_JAPANESE


@dataclass(frozen=True)
class VersionInputs:
    """One language's inputs as the compose page shows them."""

    language: str
    legend: str
    title: str
    body: str
    answers: str
    question: str

    @property
    def key(self) -> str:
        return f"version-{self.language}"


def languages() -> tuple[str, ...]:
    """やさしい日本語 first, then the configured translation languages."""
    return (EASY_JAPANESE, *settings().languages)


def submitted() -> list[Version]:
    """The versions the author typed in this POST (empty ones are dropped by the service)."""
    return [
        Version(
            language,
            request.form.get(f"version-{language}-title", ""),
            request.form.get(f"version-{language}-body", ""),
            tuple(request.form.get(f"version-{language}-answers", "").splitlines()),
            request.form.get(f"version-{language}-question", ""),
        )
        for language in languages()
    ]


def inputs(versions: Sequence[Version]) -> list[VersionInputs]:
    """The inputs to show, filled with `versions` (the saved ones, or those just submitted)."""
    given = {version.language: version for version in versions}
    shown: list[VersionInputs] = []
    for language in languages():
        version = given.get(language, Version(language, "", ""))
        if language == EASY_JAPANESE:
            legend = _("やさしい日本語の文（任意）")
        else:
            legend = _("翻訳：%(language)s（任意）", language=language_name(language))
        answers = "\n".join(version.answers)
        shown.append(
            VersionInputs(language, legend, version.title, version.body, answers, version.question)
        )
    return shown
