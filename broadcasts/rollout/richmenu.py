"""The default rich menu: 「回覧を見る」「設定」「ヘルプ」, its image drawn here with Pillow.

The image is made by the project rather than kept as a binary, so changing a label is a code
change. LINE shows the menu to every follower; each area sends a postback that the webhook
handles like the typed command (see broadcasts.core.postbacks.Menu).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

from broadcasts.core import postbacks
from broadcasts.core.postbacks import Menu, MenuItem
from broadcasts.delivery.line import Line

# line-bot-sdk is imported where LINE is called or a message is built: its models are most of a
# process's start-up (bench/startup.py), and most commands never talk to LINE.
if TYPE_CHECKING:
    from linebot.v3.messaging import RichMenuRequest

WIDTH, HEIGHT = 2500, 843
NAME = "Kairan"
CHAT_BAR_TEXT = "メニュー"
# Debian's fonts-noto-cjk (installed by `make browser`), then other usual places.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
)
# High contrast for older eyes: white text on dark, distinct tiles.
BACKGROUNDS = ("#1B5E20", "#0D47A1", "#4E342E")
FOREGROUND = "#FFFFFF"


class FontMissingError(RuntimeError):
    """No Japanese font: the message says which to install."""


@dataclass(frozen=True)
class Tile:
    item: MenuItem
    label: str  # Japanese, large
    caption: str  # English, small


TILES = (
    Tile("list", "回覧を見る", "Circulars"),
    Tile("settings", "設定", "Settings"),
    Tile("help", "ヘルプ", "Help"),
)


def find_font(candidates: Sequence[Path] = FONT_CANDIDATES) -> Path:
    for path in candidates:
        if path.is_file():
            return path
    raise FontMissingError(
        "日本語フォント（Noto Sans CJK）が見つかりません。`apt-get install fonts-noto-cjk` で"
        " 入れてください / No Japanese font (Noto Sans CJK) found: install fonts-noto-cjk"
    )


def render(font_path: Path, tiles: Sequence[Tile] = TILES) -> bytes:
    """A PNG of WIDTH × HEIGHT, one tile per menu area, labels centred."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "#FFFFFF")
    draw = ImageDraw.Draw(image)
    label_font = ImageFont.truetype(str(font_path), 150)
    caption_font = ImageFont.truetype(str(font_path), 80)
    for index, (tile, (left, right)) in enumerate(zip(tiles, _columns(len(tiles)), strict=True)):
        draw.rectangle((left, 0, right - 1, HEIGHT - 1), fill=BACKGROUNDS[index % len(BACKGROUNDS)])
        centre = (left + right) // 2
        draw.text(
            (centre, HEIGHT // 2 - 40), tile.label, font=label_font, fill=FOREGROUND, anchor="mm"
        )
        draw.text(
            (centre, HEIGHT // 2 + 120),
            tile.caption,
            font=caption_font,
            fill=FOREGROUND,
            anchor="mm",
        )
        if index:
            draw.line((left, 60, left, HEIGHT - 60), fill="#FFFFFF", width=6)
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def menu_request(tiles: Sequence[Tile] = TILES) -> RichMenuRequest:
    from linebot.v3.messaging import (
        PostbackAction,
        RichMenuArea,
        RichMenuBounds,
        RichMenuRequest,
        RichMenuSize,
    )

    areas = [
        RichMenuArea(
            bounds=RichMenuBounds(x=left, y=0, width=right - left, height=HEIGHT),
            action=PostbackAction(
                label=tile.label,
                data=postbacks.encode(Menu(tile.item)),
                display_text=tile.label,
            ),
        )
        for tile, (left, right) in zip(tiles, _columns(len(tiles)), strict=True)
    ]
    return RichMenuRequest(
        size=RichMenuSize(width=WIDTH, height=HEIGHT),
        selected=True,
        name=NAME,
        chat_bar_text=CHAT_BAR_TEXT,
        areas=areas,
    )


def install(line: Line, image: bytes) -> str:
    """Create the menu, upload its image, make it the default, then remove older Kairan menus.

    In that order, so followers always have a working menu: the old one stays until the new one
    is the default.
    """
    created = line.api.create_rich_menu(menu_request(), _request_timeout=line.timeout)
    menu_id: str = created.rich_menu_id
    line.blob.set_rich_menu_image(
        menu_id, image, _headers={"Content-Type": "image/png"}, _request_timeout=line.timeout
    )
    line.api.set_default_rich_menu(menu_id, _request_timeout=line.timeout)
    for menu in line.api.get_rich_menu_list(_request_timeout=line.timeout).richmenus:
        if menu.name == NAME and menu.rich_menu_id != menu_id:
            line.api.delete_rich_menu(menu.rich_menu_id, _request_timeout=line.timeout)
    return menu_id


def _columns(count: int) -> list[tuple[int, int]]:
    edges = [WIDTH * i // count for i in range(count + 1)]
    return list(itertools.pairwise(edges))
