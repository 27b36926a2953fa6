"""A circular's text in the reader's language: the author's translations and やさしい日本語.

The Japanese original is always there. An author may add versions (`Version`) in the configured
languages (KAIRAN_LANGUAGES) and in やさしい日本語 (EASY_JAPANESE). Each resident reads the version
whose language matches their locale, else the original; the same rule picks the text of their
card (in SQL, when deliveries are snapshotted: `language_of`) and of their detail page (in Python:
`language_for`), so the two always agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from broadcasts.core.i18n import Refused, StaffText
from models import EASY_JAPANESE, Circular, CircularTranslation

ORIGINAL = "ja"
# A BCP 47 tag as LINE and browsers write them: "en", "zh-Hant", "pt-BR", "ja-x-easy".
_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})*")
TAG_LENGTH = 16
TITLE_LIMIT = 100
BODY_LIMIT = 5000
OPTION_LIMIT = 20  # LINE's button label limit: an answer option's, in every version
QUESTION_LIMIT = 200  # as the Japanese question


class TranslationError(Refused):
    """A version the author wrote cannot be saved; the message says why."""

    def __init__(self, language: str, message: str) -> None:
        super().__init__(message)
        self.language = language


@dataclass(frozen=True)
class Version:
    """A circular's title, body, question and answer labels in one language (ORIGINAL: the
    Japanese the author wrote). No question or answers: the Japanese ones."""

    language: str
    title: str
    body: str
    answers: tuple[str, ...] = ()
    question: str = ""


def is_language_tag(tag: str) -> bool:
    return len(tag) <= TAG_LENGTH and _TAG.fullmatch(tag) is not None and tag != ORIGINAL


def clean(
    versions: Sequence[Version], original_title: str, option_count: int = 0
) -> tuple[Version, ...]:
    """The versions worth keeping, stripped; a version with neither title nor body is none.

    やさしい日本語 may keep the original title (an empty title means that); a translation needs
    its own. Answer labels, if given, are one per option of the circular (`option_count`).
    Raises TranslationError for the first problem.
    """
    kept: list[Version] = []
    for version in versions:
        if not is_language_tag(version.language):
            raise TranslationError(version.language, StaffText("言語の指定が正しくありません"))
        title = " ".join(version.title.split())
        body = version.body.strip()
        if not title and not body:
            continue
        if not body:
            raise TranslationError(version.language, StaffText("本文を入れてください"))
        if not title:
            if version.language != EASY_JAPANESE:
                raise TranslationError(version.language, StaffText("題名を入れてください"))
            title = original_title
        if len(title) > TITLE_LIMIT:
            raise TranslationError(
                version.language, StaffText("題名は%(limit)s文字までです", limit=TITLE_LIMIT)
            )
        if len(body) > BODY_LIMIT:
            raise TranslationError(
                version.language, StaffText("本文は%(limit)s文字までです", limit=BODY_LIMIT)
            )
        if any(other.language == version.language for other in kept):
            raise TranslationError(version.language, StaffText("同じ言語が2つあります"))
        answers = tuple(_clean_answers(version, option_count))
        # A circular without a question has nothing for a translated question to translate.
        question = " ".join(version.question.split()) if option_count else ""
        if len(question) > QUESTION_LIMIT:
            raise TranslationError(
                version.language, StaffText("質問の訳は%(limit)s文字までです", limit=QUESTION_LIMIT)
            )
        kept.append(Version(version.language, title, body, answers, question))
    return tuple(kept)


def _clean_answers(version: Version, option_count: int) -> list[str]:
    answers = [" ".join(answer.split()) for answer in version.answers]
    answers = [answer for answer in answers if answer]
    if answers and len(answers) != option_count:
        raise TranslationError(
            version.language,
            StaffText(
                "選択肢の訳は、選択肢と同じ%(count)sつを1行に1つ入れてください", count=option_count
            ),
        )
    if any(len(answer) > OPTION_LIMIT for answer in answers):
        raise TranslationError(
            version.language, StaffText("選択肢の訳は1つ%(limit)s文字までです", limit=OPTION_LIMIT)
        )
    if len(set(answers)) != len(answers):
        raise TranslationError(version.language, StaffText("同じ選択肢の訳が2つあります"))
    return answers


def save(circular: Circular, versions: Sequence[Version]) -> None:
    """Make the circular's versions exactly `versions` (already cleaned)."""
    wanted = {version.language: version for version in versions}
    circular.translations = [row for row in circular.translations if row.language in wanted]
    existing = {row.language: row for row in circular.translations}
    for language, version in wanted.items():
        row = existing.get(language)
        if row is None:
            row = CircularTranslation(language=language)
            circular.translations.append(row)
        row.title = version.title
        row.body = version.body
        row.answers = list(version.answers) or None
        row.question = version.question or None


def of_circular(circular: Circular) -> tuple[Version, ...]:
    """The circular's versions besides the original, as an author's draft holds them."""
    return tuple(
        Version(row.language, row.title, row.body, tuple(row.answers or ()), row.question or "")
        for row in circular.translations
    )


def versions_of(circular: Circular) -> dict[str, Version]:
    """Every version of the circular, the original first."""
    original = Version(
        ORIGINAL, circular.title, circular.body, answer_labels(circular), circular.question or ""
    )
    versions = {ORIGINAL: original}
    versions.update((version.language, version) for version in of_circular(circular))
    return versions


def version_in(circular: Circular, language: str) -> Version:
    """The version in `language` (a batch's), or the original."""
    versions = versions_of(circular)
    return versions.get(language, versions[ORIGINAL])


def question_in(circular: Circular, version: Version | None = None) -> str | None:
    """The circular's question as `version` words it; the Japanese one when it has none."""
    if not circular.question:
        return None
    return (version.question if version is not None else "") or circular.question


def answer_labels(circular: Circular, version: Version | None = None) -> tuple[str, ...]:
    """The answer labels in `version`, by option position; the Japanese ones when it has none
    (or no longer one per option, after the options changed)."""
    originals = tuple(option.label for option in circular.options)
    if version is not None and len(version.answers) == len(originals):
        return version.answers
    return originals


def for_reader(circular: Circular, locale: str | None) -> Version:
    """The version a resident with `locale` reads (their card's, their page's)."""
    versions = versions_of(circular)
    return versions[language_for(locale, list(versions))]


# --- which version a resident reads ----------------------------------------------------------


def _rules(available: Sequence[str]) -> list[tuple[bool, str]]:
    """(exact?, language) in the order they are tried: a locale equal to a version's language
    first ("zh-hant" before "zh"), then a locale of the same primary language ("en-US" reads
    "en"). やさしい日本語 is only ever chosen, never matched by prefix."""
    languages = sorted((a.lower() for a in available if a != ORIGINAL), key=lambda a: (-len(a), a))
    exact = [(True, language) for language in languages]
    prefix = [(False, language) for language in languages if "-" not in language]
    return exact + prefix


def language_for(locale: str | None, available: Sequence[str]) -> str:
    """The version a resident with `locale` reads: one of `available`, else ORIGINAL."""
    wanted = (locale or ORIGINAL).lower()
    originals = {a.lower(): a for a in available}
    for exact, language in _rules(available):
        if wanted == language if exact else wanted.startswith(f"{language}-"):
            return originals[language]
    return ORIGINAL


def language_of(
    locale: ColumnElement[str] | InstrumentedAttribute[str], available: Sequence[str]
) -> ColumnElement[str]:
    """`language_for` as SQL over a locale column, for the snapshot's INSERT … SELECT."""
    if not available:
        return literal(ORIGINAL)
    originals = {a.lower(): a for a in available}
    lowered = func.lower(locale)
    return case(
        *[
            (lowered == language if exact else lowered.like(f"{language}-%"), originals[language])
            for exact, language in _rules(available)
        ],
        else_=ORIGINAL,
    )


def languages_of(session: Session, circular_id: int) -> list[str]:
    return list(
        session.scalars(
            select(CircularTranslation.language)
            .where(CircularTranslation.circular_id == circular_id)
            .order_by(CircularTranslation.language)
        )
    )
