"""What a staff member is told when their invite code links their LINE."""

import pytest
from linebot.v3.messaging import MessageAction

from broadcasts.staff.invites import Redeemed
from linebot_app.chat.replies import staff
from models import EASY_JAPANESE, Role


def typed_words(role: Role, status: str, language: str | None = None) -> list[str]:
    replies = staff(Redeemed(status, role, "桜町内会 1班"), language)  # type: ignore[arg-type]
    return [
        item.action.text
        for reply in replies
        if reply.quick_reply is not None
        for item in reply.quick_reply.items
        if isinstance(item.action, MessageAction)
    ]


@pytest.mark.parametrize("language", [None, "en", EASY_JAPANESE])
def test_a_group_leader_is_shown_how_to_proxy_confirm_in_line(language: str | None) -> None:
    # The very word linebot_app.chat.routes sends to chat.households with the 班's circulars.
    assert typed_words(Role.group_leader, "linked", language) == ["代理確認"]
    assert typed_words(Role.group_leader, "already", language) == ["代理確認"]


@pytest.mark.parametrize("role", [Role.officer, Role.promoter, Role.admin])
def test_other_roles_are_not_offered_proxy_confirmation(role: Role) -> None:
    assert typed_words(role, "linked") == []
