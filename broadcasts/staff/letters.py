"""Invite letters: one A4 page per person from a bulk import (broadcasts.staff.roster), made with
fpdf2 and the Noto CJK font as the join flyers are (broadcasts.rollout.flyers).

Each page names the person, their role, area and term, carries their invite code in large
letters and the bot's add-friend QR code, and says in plain Japanese what to do with them. The
code is printed here and nowhere else (only its hash is stored): whoever holds the letter holds
the role, as the letter says.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from broadcasts.rollout.flyers import FONT, GREEN, INK, PALE, qr_code
from broadcasts.rollout.richmenu import find_font
from broadcasts.staff.roster import Letter
from broadcasts.staff.terms import TOKYO
from models import Role

if TYPE_CHECKING:
    from fpdf import FPDF

WHAT_YOU_DO = {
    Role.admin: "市全体の回覧・職員・校区の設定を管理できます。",
    Role.promoter: "校区の回覧を作って送り、届いたか・読まれたかを見られます。"
    "校区の自治会役員を招待できます。",
    Role.officer: "自治会のみなさんに回覧が届いたか・確認したかを見られます。"
    "毎日夕方、LINEにまとめが届きます。班長を招待できます。",
    Role.group_leader: "班のみなさんの確認の状況を見て、"
    "紙で受け取る世帯の分を代わりに確認できます。",
}


def render(letters: Sequence[Letter], add_friend_url: str, font_path: Path | None = None) -> bytes:
    """All letters in one PDF, a page each; FontMissingError (bilingual) without a font."""
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title("Kairan 職員の招待状")
    pdf.set_creator("Kairan")
    pdf.set_auto_page_break(auto=False)
    pdf.add_font(FONT, fname=str(font_path or find_font()), collection_font_number=0)
    for letter in letters:
        _page(pdf, letter, add_friend_url)
    return bytes(pdf.output())


def _page(pdf: FPDF, letter: Letter, add_friend_url: str) -> None:
    pdf.add_page()
    pdf.set_fill_color(*GREEN)
    pdf.rect(0, 0, 210, 30, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(FONT, size=22)
    pdf.set_xy(15, 8)
    pdf.cell(180, 14, "LINE回覧（Kairan）のご案内", align="C")

    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=18)
    pdf.set_xy(20, 38)
    pdf.cell(170, 10, f"{letter.name} 様")
    pdf.set_font(FONT, size=12)
    term = (
        f"{letter.term_end.year}年{letter.term_end.month}月{letter.term_end.day}日まで"
        if letter.term_end
        else "定めなし"
    )
    details = (
        ("役割", letter.role_name),
        ("範囲", letter.area),
        ("任期", term),
    )
    for number, (label, value) in enumerate(details):
        pdf.set_xy(20, 52 + number * 8)
        pdf.cell(22, 7, label)
        pdf.cell(148, 7, value)
    pdf.set_xy(20, 78)
    pdf.multi_cell(170, 6.5, WHAT_YOU_DO[letter.role])

    pdf.set_fill_color(*PALE)
    pdf.rect(20, 96, 170, 40, style="F")
    pdf.set_font(FONT, size=13)
    pdf.set_xy(20, 100)
    pdf.cell(170, 8, "あなたの招待コード", align="C")
    pdf.set_font(FONT, size=24)
    pdf.set_xy(20, 110)
    pdf.cell(170, 14, letter.code, align="C")
    pdf.set_font(FONT, size=10)
    pdf.set_xy(20, 126)
    expires = letter.expires_at.astimezone(TOKYO)
    pdf.cell(
        170,
        6,
        f"{expires.year}年{expires.month}月{expires.day}日 {expires:%H:%M} まで・1回だけ使えます",
        align="C",
    )

    qr_code(pdf, add_friend_url, x=20, y=146, size=56)
    pdf.set_font(FONT, size=10)
    pdf.set_xy(20, 203)
    pdf.cell(56, 6, "友だち追加の QR コード", align="C")

    steps = (
        "LINEのカメラで左のQRコードを読み取り、「追加」を押して友だちになります。",
        "トーク画面に上の招待コードを入力して送ります。「…として登録しました」と返事が来れば完了です。",
        "管理画面を使うときは、トークで「ログイン」と送ります。届いたリンクを10分以内に開いてください。",
    )
    top = 146
    for number, text in enumerate(steps, start=1):
        y = top + (number - 1) * 20
        pdf.set_fill_color(*GREEN)
        pdf.ellipse(84, y, 9, 9, style="F")
        pdf.set_text_color(255, 255, 255)
        pdf.set_font(FONT, size=13)
        pdf.set_xy(84, y + 1)
        pdf.cell(9, 7, str(number), align="C")
        pdf.set_text_color(*INK)
        pdf.set_font(FONT, size=11)
        pdf.set_xy(97, y)
        pdf.multi_cell(93, 6, text)

    pdf.set_font(FONT, size=10)
    pdf.set_xy(20, 250)
    pdf.multi_cell(
        170,
        5.5,
        "この招待状は、ご本人だけがお使いください"
        "（コードを送った LINE アカウントに役割が付きます）。"
        "任期が終わると、何もしなくても自動で使えなくなります。"
        "なくしたとき・わからないときは、市の担当者か ICT推進員にご相談ください。",
    )
