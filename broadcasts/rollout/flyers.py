"""Join flyers (参加のチラシ): one A4 page per association or group, made with fpdf2.

fpdf2 embeds a subset of the OpenType-CFF collection Debian's fonts-noto-cjk installs (`.ttc`,
which several PDF libraries cannot embed), so the flyer needs no other font package. The page
carries the bot's add-friend QR code (drawn as vector squares: sharp at any print size), the
join code in large letters, and three steps in plain Japanese with simple drawn pictures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import qrcode
import qrcode.constants

from broadcasts.residents.join_codes import printed
from broadcasts.rollout.richmenu import find_font

if TYPE_CHECKING:
    from fpdf import FPDF

FONT = "kairan"
INK = (33, 33, 33)
GREEN = (6, 199, 85)  # LINE's green: residents recognise the steps belong to LINE
PALE = (232, 245, 233)


@dataclass(frozen=True)
class Flyer:
    district: str
    association: str
    group: str | None
    code: str
    add_friend_url: str


def render(flyer: Flyer, font_path: Path | None = None) -> bytes:
    """The flyer as PDF bytes; FontMissingError (bilingual) without a Japanese font."""
    # Imported here: fpdf2 and its fontTools would slow every process's start-up.
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title(f"{flyer.association} LINE回覧 参加のご案内")
    pdf.set_creator("Kairan")
    pdf.set_auto_page_break(auto=False)
    pdf.add_font(FONT, fname=str(font_path or find_font()), collection_font_number=0)
    pdf.add_page()
    pdf.set_text_color(*INK)

    pdf.set_fill_color(*GREEN)
    pdf.rect(0, 0, 210, 38, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(FONT, size=30)
    pdf.set_xy(15, 8)
    pdf.cell(180, 14, "回覧板が LINE で届きます", align="C")
    pdf.set_font(FONT, size=15)
    pdf.set_xy(15, 23)
    area = flyer.association + (f"　{flyer.group}" if flyer.group else "")
    pdf.cell(180, 9, f"{flyer.district}　{area}のみなさまへ", align="C")

    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=12)
    pdf.set_xy(20, 44)
    pdf.multi_cell(
        170,
        6.5,
        "自治会のお知らせ（回覧板）を、スマートフォンのLINEでも読めるようになりました。"
        "登録は下の3つのステップで、1分ほどで終わります。お名前や住所の入力はいりません。",
    )

    qr_code(pdf, flyer.add_friend_url, x=20, y=66, size=62)
    pdf.set_font(FONT, size=11)
    pdf.set_xy(20, 129)
    pdf.cell(62, 6, "友だち追加の QR コード", align="C")

    pdf.set_fill_color(*PALE)
    pdf.rect(92, 66, 98, 62, style="F")
    pdf.set_font(FONT, size=14)
    pdf.set_xy(92, 72)
    pdf.cell(98, 8, "参加コード", align="C")
    pdf.set_font(FONT, size=40)
    pdf.set_xy(92, 86)
    pdf.cell(98, 20, printed(flyer.code), align="C")
    pdf.set_font(FONT, size=11)
    pdf.set_xy(96, 110)
    pdf.multi_cell(90, 6, f"このコードで「{area}」に登録されます。", align="C")

    steps = (
        (
            _draw_phone_scanning,
            "QR コードを読み取る",
            "LINEのカメラで左のQRコードを読み取り、「追加」を押します。",
        ),
        (
            _draw_chat,
            "参加コードを送る",
            f"トーク画面に「{printed(flyer.code)}」と入力して送ります。",
        ),
        (
            _draw_check,
            "「はい」を押して完了",
            "表示された自治会を確かめて「はい」を押すと登録できます。",
        ),
    )
    top = 145
    for number, (draw, heading, text) in enumerate(steps, start=1):
        y = top + (number - 1) * 42
        pdf.set_fill_color(*GREEN)
        pdf.ellipse(20, y + 2, 12, 12, style="F")
        pdf.set_text_color(255, 255, 255)
        pdf.set_font(FONT, size=16)
        pdf.set_xy(20, y + 3.5)
        pdf.cell(12, 9, str(number), align="C")
        pdf.set_text_color(*INK)
        draw(pdf, 40, y)
        pdf.set_font(FONT, size=16)
        pdf.set_xy(80, y + 4)
        pdf.cell(110, 9, heading)
        pdf.set_font(FONT, size=12)
        pdf.set_xy(80, y + 15)
        pdf.multi_cell(110, 6.5, text)

    pdf.set_font(FONT, size=10)
    pdf.set_xy(20, 272)
    pdf.multi_cell(
        170,
        5.5,
        "LINEを使わない方には、これまでどおり紙の回覧板が届きます。"
        "登録をやめるときは、トークで「登録解除」と送ってください。",
        align="C",
    )
    return bytes(pdf.output())


def qr_code(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    """The QR code as filled squares, one rectangle per run of dark modules in a row."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    module = size / len(matrix)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(matrix):
        start: int | None = None
        for column, dark in enumerate([*cells, False]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                pdf.rect(
                    x + start * module, y + row * module, (column - start) * module, module, "F"
                )
                start = None


def _draw_phone(pdf: FPDF, x: float, y: float) -> None:
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.8)
    pdf.rect(x, y, 20, 34, round_corners=True, corner_radius=3)
    pdf.line(x + 7, y + 31, x + 13, y + 31)


def _draw_phone_scanning(pdf: FPDF, x: float, y: float) -> None:
    _draw_phone(pdf, x, y)
    pdf.set_fill_color(0, 0, 0)
    for dx, dy in ((4, 6), (12, 6), (4, 14)):
        pdf.rect(x + dx, y + dy, 4, 4, style="F")
    pdf.rect(x + 12, y + 14, 2, 2, style="F")
    pdf.set_draw_color(*GREEN)
    pdf.line(x + 2, y + 12, x + 18, y + 12)


def _draw_chat(pdf: FPDF, x: float, y: float) -> None:
    _draw_phone(pdf, x, y)
    pdf.set_fill_color(*GREEN)
    pdf.rect(x + 6, y + 8, 12, 6, style="F", round_corners=True, corner_radius=1.5)
    pdf.set_fill_color(220, 220, 220)
    pdf.rect(x + 2, y + 17, 12, 6, style="F", round_corners=True, corner_radius=1.5)


def _draw_check(pdf: FPDF, x: float, y: float) -> None:
    _draw_phone(pdf, x, y)
    pdf.set_draw_color(*GREEN)
    pdf.set_line_width(2)
    pdf.polyline([(x + 5, y + 15), (x + 9, y + 20), (x + 16, y + 9)])
    pdf.set_line_width(0.2)
