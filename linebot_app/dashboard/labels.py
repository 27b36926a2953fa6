"""The dashboard's words for values the code keeps as codes: circular statuses, roles, and the
audit log's actions, subjects and details. Given to every template by the dashboard's context
processor."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import pgettext

from broadcasts.schedule.rules import SAFETY_REMINDERS
from broadcasts.staff import audit
from models import CircularStatus, Role


def status_label(status: CircularStatus) -> str:
    labels = {
        CircularStatus.draft: _("下書き"),
        CircularStatus.scheduled: _("予約"),
        CircularStatus.sending: _("送信中"),
        CircularStatus.sent: _("送信済み"),
        CircularStatus.cancelled: _("取り消し"),
    }
    return str(labels[status])


def role_label(role: Role) -> str:
    labels = {
        Role.admin: _("管理者"),
        Role.promoter: _("ICT推進員"),
        Role.officer: _("自治会役員"),
        Role.group_leader: _("班長"),
    }
    return str(labels[role])


def action_label(action: str) -> str:
    labels = {
        "circular.composed": _("回覧を作成"),
        "circular.scheduled": _("回覧を予約"),
        "circular.sent": _("回覧を送信"),
        "circular.cancelled": _("回覧を取り消し"),
        "circular.resumed": _("保留を再開"),
        "export.circular": _("回覧の集計を保存"),
        "export.reach": _("到達率を保存"),
        "role.invited": _("招待コードを作成"),
        "role.removed": _("役割を外す"),
        "role.granted": _("役割を付与"),
        "role.ended": _("任期が終わり役割を終了"),
        "role.handed_over": _("役割を引き継ぎ"),
        "staff.imported": _("職員を一括で招待"),
        "association.paper_households": _("紙の世帯数を変更"),
        "district.activated": _("校区を開始"),
        "district.prepared": _("校区を準備中に戻す"),
        "join_code.rotated": _("参加コードを発行"),
        "template.saved": _("ひな形を保存"),
        "template.shared": _("ひな形を市全体で共有"),
        "export.adoption": _("登録の推移を保存"),
        "group.paper_households": _("班の紙の世帯を変更"),
        "association.watch_over": _("見守りの設定を変更"),
        "paper.proxy_confirmed": _("代理確認"),
        "paper.proxy_undone": _("代理確認を取り消し"),
        "resident.exported": _("住民の情報を開示"),
        "resident.erased": _("住民の情報を削除"),
        "household.labelled": _("世帯の表示名を設定"),
        "household.label_removed": _("世帯の表示名を削除"),
        "household.label_approved": _("表示名の変更を承認"),
        "household.label_declined": _("表示名の変更を却下"),
        "line_group.code": _("LINEグループの連携コードを発行"),
        "line_group.linked": _("LINEグループを連携"),
        "line_group.left": _("LINEグループから退出"),
        "inbox.answered": _("住民からのメッセージに返信"),
        "inbox.status_set": _("住民からのメッセージの状態を変更"),
    }
    return str(labels.get(action, action))


# The audit log's words carry the context "audit": there 回覧 is one circular, not the
# "Circulars" of the menu.
def subject_label(subject_type: str) -> str:
    labels = {
        "district": pgettext("audit", "校区"),
        "association": pgettext("audit", "自治会"),
        "group": pgettext("audit", "班"),
        "circular": pgettext("audit", "回覧"),
        "template": pgettext("audit", "ひな形"),
        "staff_member": pgettext("audit", "担当者"),
        "staff_invite": pgettext("audit", "招待コード"),
        "resident": pgettext("audit", "住民"),
        "inbox_thread": pgettext("audit", "住民からのメッセージ"),
    }
    return str(labels.get(subject_type, subject_type))


def detail_label(key: str) -> str:
    labels = {
        "recipients": pgettext("audit", "送信人数"),
        "count": pgettext("audit", "件数"),
        "role": pgettext("audit", "役割"),
        "status": pgettext("audit", "状態"),
        "kind": pgettext("audit", "種類"),
        "enabled": pgettext("audit", "見守り"),
        "district_id": pgettext("audit", "校区"),
        "association_id": pgettext("audit", "自治会"),
        "group": pgettext("audit", "班"),
        "group_id": pgettext("audit", "班"),
        "circular": pgettext("audit", "回覧"),
        "corrects": pgettext("audit", "訂正した回覧"),
        "paper_household_id": pgettext("audit", "紙の世帯"),
    }
    return str(labels.get(key, key))


def detail_value(key: str, value: audit.Detail) -> str:
    if key == "role" and value in {role.value for role in Role}:
        return role_label(Role(value))
    if isinstance(value, bool):
        return str(pgettext("audit", "オン") if value else pgettext("audit", "オフ"))
    kinds = {"stats": pgettext("audit", "集計"), "answers": pgettext("audit", "回答")}
    if key == "kind" and isinstance(value, str) and value in kinds:
        return str(kinds[value])
    return str(value)


def reminder_label(slot: str) -> str:
    """A reminder slot (schedule.reminders' names), or the card, as the circular's page lists
    it."""
    labels = {
        "card": _("回覧のカード"),
        "line-group": _("自治会のLINEグループへの投稿"),
        "reminder-1": _("確認のお願い（1回目）"),
        "reminder-2": _("確認のお願い（2回目）"),
        "deadline": _("回答しめきりの前日"),
        "event": _("行事の前日"),
        **{
            f"safety-{n}": _("安否確認のお知らせ（%(n)s回目）", n=n)
            for n in range(1, SAFETY_REMINDERS + 1)
        },
    }
    return str(labels.get(slot, slot))
