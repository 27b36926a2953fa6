"""Every postback Kairan sends, as typed values with one encoder and one strict decoder.

Postback data comes back from the resident's phone: anyone can forge it. `decode` accepts only the
exact shapes `encode` writes (ids are plain positive decimals, nothing else is tolerated) and
returns None for anything else, so a handler never sees half-parsed input. Whether the ids point
at something the resident may touch is for the services to check.

Formats (all well under LINE's 300 characters):

    ack:<circular_id>               「確認しました」 on a circular card
    ans:<circular_id>:<position>    an answer option (AnswerOption.position, 1..4)
    more:<circular_id>              「詳しく見る」
    say:<circular_id>               「回答する」: a headcount (0–9 buttons, or typed) or a text
    cnt:<circular_id>:<count>       a headcount button (0..20 people)
    num:<circular_id>               「10人以上」: the headcount is typed as a number
    reg:dp:<page>                   registration: a page of the district list
    reg:d:<district_id>             registration: this district
    reg:ap:<district_id>:<page>     registration: a page of a district's associations
    reg:a:<association_id>          registration: this association
    reg:gp:<association_id>:<page>  registration: a page of an association's groups
    reg:g:<group_id>                registration: this group
    reg:ok | reg:redo | reg:cancel  registration: confirm, start again, stop
    unreg:ok | unreg:cancel         「登録解除」: confirm or keep the registration
    menu:list | menu:settings | menu:help   the rich menu's three areas
    cmp:<word>                      composing in LINE (staff): next, skip, done, yes, no, send,
                                    schedule, cancel, resume, new, deadline, event, at
                                    (those three are datetime pickers: LINE adds the value),
                                    headcount, text (the question's kind)
    cmp:b:d:0:<page>                composing: a page of the author's districts
    cmp:b:a:<district_id>:<page>    composing: a page of a district's associations
    cmp:b:g:<association_id>:<page> composing: a page of an association's groups
    cmp:t:d|a|g:<id>                composing: select or unselect this district/association/group
    lang:ja | lang:en | lang:easy   「設定」: the bot's language (やさしい日本語 is "easy")
    arc:p:<page>                    the archive (「回覧を見る」): a page of the resident's circulars
    arc:s:<page>                    a page of the results of the resident's last search (the word
                                    is kept in the database: postback data is short and ASCII)
    arc:find                        「検索」: the next message is the word to search for
    pxy:c:<circular_id>:<group_id>  班長: the paper households of the 班 for this circular
    pxy:h:<circular_id>:<paper_household_id>   班長: proxy-confirm this paper household
    igl:<interest_group_id>         「グループ退会」: leave this interest group
    igi:<interest_group_id>         「グループ招待」 (staff): the invitation for this group
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from models import MAX_ID

MAX_LENGTH = 300
# LINE allows four answer options per question (the card has room for four buttons).
MAX_ANSWER_POSITION = 4
# Ids are database keys: a positive decimal without leading zeros, at most the column's MAX_ID
# (checked after the match: the pattern only keeps the number short).
_ID = r"[1-9][0-9]{0,9}"
_PAGE = r"0|[1-9][0-9]{0,3}"


@dataclass(frozen=True)
class Confirm:
    circular_id: int


@dataclass(frozen=True)
class Answer:
    circular_id: int
    position: int


@dataclass(frozen=True)
class Details:
    circular_id: int


@dataclass(frozen=True)
class Respond:
    """「回答する」 on a card whose question takes a headcount or a free answer."""

    circular_id: int


@dataclass(frozen=True)
class Headcount:
    circular_id: int
    count: int


@dataclass(frozen=True)
class TypeCount:
    """「10人以上」: the resident types the number."""

    circular_id: int


@dataclass(frozen=True)
class DistrictPage:
    page: int


@dataclass(frozen=True)
class ChooseDistrict:
    district_id: int


@dataclass(frozen=True)
class AssociationPage:
    district_id: int
    page: int


@dataclass(frozen=True)
class ChooseAssociation:
    association_id: int


@dataclass(frozen=True)
class GroupPage:
    association_id: int
    page: int


@dataclass(frozen=True)
class ChooseGroup:
    group_id: int


RegistrationStepName = Literal["ok", "redo", "cancel"]


@dataclass(frozen=True)
class RegistrationControl:
    """Confirm the registration, start it again, or stop it."""

    action: RegistrationStepName


@dataclass(frozen=True)
class Unregister:
    """`confirmed` False: the resident keeps their registration."""

    confirmed: bool


MenuItem = Literal["list", "settings", "help"]


@dataclass(frozen=True)
class Menu:
    item: MenuItem


ComposeWord = Literal[
    "next",
    "skip",
    "done",
    "yes",
    "no",
    "send",
    "now",
    "later",
    "schedule",
    "cancel",
    "resume",
    "new",
    "deadline",
    "event",
    "at",
    "headcount",
    "text",
]
AreaLevel = Literal["d", "a", "g"]


@dataclass(frozen=True)
class ComposeControl:
    """A step of composing a circular in LINE (staff only)."""

    word: ComposeWord


@dataclass(frozen=True)
class ComposeBrowse:
    """Show a page of areas: districts (parent 0), a district's associations, or an
    association's groups."""

    level: AreaLevel
    parent_id: int
    page: int


@dataclass(frozen=True)
class ComposeToggle:
    level: AreaLevel
    area_id: int


LanguageChoice = Literal["ja", "en", "easy"]


@dataclass(frozen=True)
class ChooseLanguage:
    """The language the bot speaks to this resident: Japanese, English or やさしい日本語."""

    language: LanguageChoice


@dataclass(frozen=True)
class ArchivePage:
    page: int


@dataclass(frozen=True)
class ArchiveResults:
    page: int


@dataclass(frozen=True)
class ArchiveFind:
    """Ask for a word to search the archive with."""


@dataclass(frozen=True)
class ProxyCircular:
    """班長: the paper households of the 班 for this circular."""

    circular_id: int
    group_id: int


@dataclass(frozen=True)
class ProxyHousehold:
    """班長: proxy-confirm this paper household."""

    circular_id: int
    paper_household_id: int


@dataclass(frozen=True)
class LeaveInterest:
    """「グループ退会」: leave this interest group."""

    interest_group_id: int


@dataclass(frozen=True)
class InviteInterest:
    """「グループ招待」 (staff): the invitation to forward for this interest group."""

    interest_group_id: int


Postback = (
    Confirm
    | Answer
    | Details
    | Respond
    | Headcount
    | TypeCount
    | DistrictPage
    | ChooseDistrict
    | AssociationPage
    | ChooseAssociation
    | GroupPage
    | ChooseGroup
    | RegistrationControl
    | Unregister
    | Menu
    | ComposeControl
    | ComposeBrowse
    | ComposeToggle
    | ChooseLanguage
    | ArchivePage
    | ArchiveResults
    | ArchiveFind
    | ProxyCircular
    | ProxyHousehold
    | LeaveInterest
    | InviteInterest
)


def encode(postback: Postback) -> str:
    data = _encode(postback)
    # Only reachable with an out-of-range value built in code: a bug, never user input.
    if decode(data) != postback:
        raise ValueError(f"cannot encode {postback!r}")
    return data


def _encode(postback: Postback) -> str:
    match postback:
        case Confirm(circular_id):
            return f"ack:{circular_id}"
        case Answer(circular_id, position):
            return f"ans:{circular_id}:{position}"
        case Details(circular_id):
            return f"more:{circular_id}"
        case Respond(circular_id):
            return f"say:{circular_id}"
        case Headcount(circular_id, count):
            return f"cnt:{circular_id}:{count}"
        case TypeCount(circular_id):
            return f"num:{circular_id}"
        case DistrictPage(page):
            return f"reg:dp:{page}"
        case ChooseDistrict(district_id):
            return f"reg:d:{district_id}"
        case AssociationPage(district_id, page):
            return f"reg:ap:{district_id}:{page}"
        case ChooseAssociation(association_id):
            return f"reg:a:{association_id}"
        case GroupPage(association_id, page):
            return f"reg:gp:{association_id}:{page}"
        case ChooseGroup(group_id):
            return f"reg:g:{group_id}"
        case RegistrationControl(action):
            return f"reg:{action}"
        case Unregister(confirmed):
            return "unreg:ok" if confirmed else "unreg:cancel"
        case Menu(item):
            return f"menu:{item}"
        case ComposeControl(word):
            return f"cmp:{word}"
        case ComposeBrowse(level, parent_id, page):
            return f"cmp:b:{level}:{parent_id}:{page}"
        case ComposeToggle(level, area_id):
            return f"cmp:t:{level}:{area_id}"
        case ChooseLanguage(language):
            return f"lang:{language}"
        case ArchivePage(page):
            return f"arc:p:{page}"
        case ArchiveResults(page):
            return f"arc:s:{page}"
        case ArchiveFind():
            return "arc:find"
        case ProxyCircular(circular_id, group_id):
            return f"pxy:c:{circular_id}:{group_id}"
        case ProxyHousehold(circular_id, paper_household_id):
            return f"pxy:h:{circular_id}:{paper_household_id}"
        case LeaveInterest(interest_group_id):
            return f"igl:{interest_group_id}"
        case InviteInterest(interest_group_id):
            return f"igi:{interest_group_id}"


_PATTERNS: list[tuple[re.Pattern[str], type[Postback]]] = [
    (re.compile(rf"ack:({_ID})"), Confirm),
    (re.compile(rf"ans:({_ID}):([1-{MAX_ANSWER_POSITION}])"), Answer),
    (re.compile(rf"more:({_ID})"), Details),
    (re.compile(rf"say:({_ID})"), Respond),
    # 0..MAX_HEADCOUNT (20) people.
    (re.compile(rf"cnt:({_ID}):([0-9]|1[0-9]|20)"), Headcount),
    (re.compile(rf"num:({_ID})"), TypeCount),
    (re.compile(rf"reg:dp:({_PAGE})"), DistrictPage),
    (re.compile(rf"reg:d:({_ID})"), ChooseDistrict),
    (re.compile(rf"reg:ap:({_ID}):({_PAGE})"), AssociationPage),
    (re.compile(rf"reg:a:({_ID})"), ChooseAssociation),
    (re.compile(rf"reg:gp:({_ID}):({_PAGE})"), GroupPage),
    (re.compile(rf"reg:g:({_ID})"), ChooseGroup),
    (re.compile(rf"arc:p:({_PAGE})"), ArchivePage),
    (re.compile(rf"arc:s:({_PAGE})"), ArchiveResults),
    (re.compile(rf"pxy:c:({_ID}):({_ID})"), ProxyCircular),
    (re.compile(rf"pxy:h:({_ID}):({_ID})"), ProxyHousehold),
    (re.compile(rf"igl:({_ID})"), LeaveInterest),
    (re.compile(rf"igi:({_ID})"), InviteInterest),
]
_COMPOSE_WORDS = (
    "next",
    "skip",
    "done",
    "yes",
    "no",
    "send",
    "now",
    "later",
    "schedule",
    "cancel",
    "resume",
    "new",
    "deadline",
    "event",
    "at",
    "headcount",
    "text",
)
_COMPOSE_BROWSE = re.compile(rf"cmp:b:(?:(d):(0)|(a|g):({_ID})):({_PAGE})")
_COMPOSE_TOGGLE = re.compile(rf"cmp:t:(d|a|g):({_ID})")
_WORDS: dict[str, Postback] = {
    "reg:ok": RegistrationControl("ok"),
    "reg:redo": RegistrationControl("redo"),
    "reg:cancel": RegistrationControl("cancel"),
    "unreg:ok": Unregister(confirmed=True),
    "unreg:cancel": Unregister(confirmed=False),
    "menu:list": Menu("list"),
    "menu:settings": Menu("settings"),
    "menu:help": Menu("help"),
    **{f"cmp:{word}": ComposeControl(word) for word in _COMPOSE_WORDS},  # type: ignore[arg-type]
    "lang:ja": ChooseLanguage("ja"),
    "lang:en": ChooseLanguage("en"),
    "lang:easy": ChooseLanguage("easy"),
    "arc:find": ArchiveFind(),
}


def decode(data: object) -> Postback | None:
    """The postback `data` stands for, or None when it is not exactly one Kairan wrote."""
    if not isinstance(data, str) or len(data) > MAX_LENGTH or not data.isascii():
        return None
    if data in _WORDS:
        return _WORDS[data]
    for pattern, kind in _PATTERNS:
        match = pattern.fullmatch(data)
        if match:
            numbers = [int(group) for group in match.groups()]
            return kind(*numbers) if _in_range(*numbers) else None  # type: ignore[arg-type]
    browse = _COMPOSE_BROWSE.fullmatch(data)
    if browse:
        level, parent = (browse[1], browse[2]) if browse[1] else (browse[3], browse[4])
        if not _in_range(int(parent)):
            return None
        return ComposeBrowse(level, int(parent), int(browse[5]))  # type: ignore[arg-type]
    toggle = _COMPOSE_TOGGLE.fullmatch(data)
    if toggle and _in_range(int(toggle[2])):
        return ComposeToggle(toggle[1], int(toggle[2]))  # type: ignore[arg-type]
    return None


def _in_range(*numbers: int) -> bool:
    """No id (nor page) beyond the id columns: such a value names no row, and PostgreSQL
    refuses to compare an integer column with it."""
    return all(number <= MAX_ID for number in numbers)
