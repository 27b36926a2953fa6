"""The watch-over notice (見守りのお知らせ): when an association opts in, the residents already
registered are told by a circular in the bot's own words, sent like any other circular. The
ones it reaches count as told (`watch_over.not_confirming`); those who register later are told
by the registration's reply.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from broadcasts.circulars import lifecycle
from broadcasts.circulars.release import Release
from broadcasts.circulars.targeting import Target, reach
from broadcasts.circulars.translations import Version
from broadcasts.composing import drafts
from broadcasts.composing.drafts import CircularDraft
from broadcasts.core.clock import Clock
from broadcasts.core.i18n import N_, translations
from models import EASY_JAPANESE, StaffMember, WatchOverSetting

NOTICE_TITLE = N_("見守りを始めます")
NOTICE_BODY = N_(
    "この自治会では見守りを始めます。回覧の確認がしばらくないと、班長さんが見る一覧に名前が出ます。\n"
    "いやなときは「見守りをやめる」と送ってください。"
)
# The notice is the bot's own words, so it goes out in every language the bot speaks.
NOTICE_VERSIONS = ("en", EASY_JAPANESE)


def notice_version(language: str) -> Version:
    """The notice in `language`, from the bot's catalogues."""
    _ = translations(language).gettext
    return Version(language, _(NOTICE_TITLE), _(NOTICE_BODY))


def announce(
    session: Session,
    clock: Clock,
    author: StaffMember,
    association_id: int,
    remaining_quota: int | None,
) -> Release | None:
    """Tell the association's registered residents that it now watches over them: a circular
    of the bot's own words from `author`, sent like any other. A resident it reached counts as
    told. None when nobody is registered yet (they will be told when they register).

    A release LINE's quota refuses leaves the notice as a draft with its reason: sent later from
    the dashboard, it still tells whom it reaches."""
    target = Target.of(associations=[association_id])
    if reach(session, target).recipients == 0:
        return None
    draft = CircularDraft(
        title=NOTICE_TITLE,
        body=NOTICE_BODY,
        targets=target,
        confirmation_required=False,
        translations=tuple(notice_version(language) for language in NOTICE_VERSIONS),
    )
    circular = drafts.save_draft(session, clock, author, draft)
    session.get_one(WatchOverSetting, association_id).notice_circular_id = circular.id
    return lifecycle.send_now(session, clock, author, circular, remaining_quota)
