"""Request validation: line-bot-sdk's own request models, plus the LINE limits they do not carry.

The SDK models (pydantic v1) enforce counts: 500 recipients, 5 messages, 13 quick-reply items,
300-character postback data. LINE also enforces lengths and sizes that the generated models leave
out; those are checked here, so a bot that passes the simulator also passes LINE.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from typing import Any, TypeGuard

from linebot.v3.messaging.models import (
    Message,
)
from pydantic.v1 import ValidationError

Detail = dict[str, str]

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_TEXT_UTF16 = 5000
MAX_FLEX_ALT_TEXT = 1500
MAX_IMAGEMAP_ALT_TEXT = 1500
MAX_TEMPLATE_ALT_TEXT = 400
MAX_BUBBLE_BYTES = 30 * 1024
MAX_CAROUSEL_BYTES = 50 * 1024
MAX_CAROUSEL_BUBBLES = 12
MAX_MEDIA_URL = 2000
UNIT_NAME_RE = re.compile(r"^[a-zA-Z0-9_]{1,30}$")
USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")


def utf16_len(text: str) -> int:
    """LINE counts text length in UTF-16 code units: an emoji outside the BMP counts as two."""
    return len(text.encode("utf-16-le")) // 2


def json_size(value: Any) -> int:
    """Size of the compact UTF-8 JSON encoding, which is how LINE measures Flex containers."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def error_body(message: str, details: list[Detail] | None = None) -> dict[str, Any]:
    """LINE's error JSON shape."""
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    return body


def _loc_to_property(prefix: str, loc: tuple[int | str, ...]) -> str:
    prop = prefix
    for part in loc:
        if part == "__root__":
            continue
        if isinstance(part, int):
            prop += f"[{part}]"
        else:
            prop += f".{part}" if prop else str(part)
    return prop


def _pydantic_details(prefix: str, error: ValidationError, document: Any = None) -> list[Detail]:
    details: list[Detail] = []
    for e in error.errors():
        loc = tuple(part for part in e["loc"] if part != "__root__")
        details.append(
            {
                "message": str(e["msg"]),
                "property": _loc_to_property(prefix, _full_path(document, loc)),
            }
        )
    return details


def _full_path(document: Any, loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The path of the offending value inside the document the bot sent.

    The SDK builds nested objects with separate ``from_dict`` calls, so a pydantic error only
    knows its location inside the innermost object (``items`` rather than
    ``quickReply.items``). The first path in the document that ends with that location is the
    one the bot needs to see.
    """
    if not loc:
        return loc
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), document)]
    while stack:
        path, node = stack.pop(0)
        if path[-len(loc) :] == loc:
            return path
        if isinstance(node, dict):
            stack.extend(((*path, key), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, index), value) for index, value in enumerate(node))
    return loc


def sdk_validate(model: Any, body: Any) -> list[Detail]:
    """Validates a request body with a line-bot-sdk request model; returns LINE-style details.

    A send repeats itself: the fan-out of one circular is 200 multicasts of the same card to
    different recipients. So the validation is kept per distinct request (`_validate_request`,
    a pure function of the JSON), and recipients that are all strings within the model's count
    are validated as one placeholder: for the model's list of strict strings that gives the same
    answer, and each id's format is checked against LINE's (`check_user_ids`) by the endpoint.
    """
    if not isinstance(body, dict):
        return [{"message": "must be a JSON object", "property": ""}]
    recipients = body.get("to")
    bounds = _recipient_bounds(model)
    if (
        isinstance(recipients, list)
        and bounds is not None
        and bounds[0] <= len(recipients) <= bounds[1]
        and all(isinstance(user_id, str) for user_id in recipients)
    ):
        body = {**body, "to": [_PLACEHOLDER_USER_ID]}
    # The body came from JSON, so it goes back to JSON; key order is kept (errors name paths).
    return list(_validate_request(model, json.dumps(body, ensure_ascii=False)))


_PLACEHOLDER_USER_ID = "U" + "0" * 32


def _recipient_bounds(model: Any) -> tuple[int, int] | None:
    """How many recipients the model's list of them takes (a multicast's), if it has one."""
    field = getattr(model, "__fields__", {}).get("to")
    bounds = getattr(field, "outer_type_", None)
    if bounds is None or getattr(bounds, "max_items", None) is None:
        return None
    return int(bounds.min_items), int(bounds.max_items)


@functools.lru_cache(maxsize=256)
def _validate_request(model: Any, body_json: str) -> tuple[Detail, ...]:
    return tuple(_validate(model, json.loads(body_json)))


def _validate(model: Any, body: dict[str, Any]) -> list[Detail]:
    """Messages are checked one by one first, because the SDK builds each message separately and
    its errors would otherwise lose the index that tells the bot which message was wrong."""
    messages = body.get("messages")
    details: list[Detail] = []
    if isinstance(messages, list):
        for index, message in enumerate(messages):
            details.extend(_sdk_validate_message(f"messages[{index}]", message))
        if details:
            return details
    try:
        model.from_dict(body)
    except ValidationError as exc:
        return _pydantic_details("", exc, body)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return [{"message": str(exc) or "invalid value", "property": ""}]
    return []


def _sdk_validate_message(prefix: str, message: Any) -> list[Detail]:
    if not isinstance(message, dict) or "type" not in message:
        return [{"message": "must be a message object with a type", "property": prefix}]
    try:
        parsed = Message.from_dict(message)
    except ValidationError as exc:
        return _pydantic_details(prefix, exc, message)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return [{"message": str(exc) or "invalid message", "property": prefix}]
    if parsed is None:
        return [{"message": "unknown message type", "property": f"{prefix}.type"}]
    return []


def check_messages(messages: list[dict[str, Any]], *, allow_http_media: bool) -> list[Detail]:
    """The per-message limits LINE enforces beyond the SDK's models."""
    details: list[Detail] = []
    for index, message in enumerate(messages):
        prefix = f"messages[{index}]"
        kind = message.get("type")
        if kind in ("text", "textV2"):
            text = message.get("text")
            if isinstance(text, str) and utf16_len(text) > MAX_TEXT_UTF16:
                details.append(
                    {
                        "message": f"Length must be between 0 and {MAX_TEXT_UTF16}",
                        "property": f"{prefix}.text",
                    }
                )
        alt_limit = {
            "flex": MAX_FLEX_ALT_TEXT,
            "imagemap": MAX_IMAGEMAP_ALT_TEXT,
            "template": MAX_TEMPLATE_ALT_TEXT,
        }.get(str(kind))
        alt_text = message.get("altText")
        if alt_limit is not None and isinstance(alt_text, str) and len(alt_text) > alt_limit:
            details.append(
                {
                    "message": f"Length must be between 0 and {alt_limit}",
                    "property": f"{prefix}.altText",
                }
            )
        if kind == "flex":
            details.extend(_check_flex(prefix + ".contents", message.get("contents")))
        details.extend(_check_media(prefix, message, allow_http_media=allow_http_media))
    return details


def _check_flex(prefix: str, contents: Any) -> list[Detail]:
    if not isinstance(contents, dict):
        return []
    if contents.get("type") == "bubble":
        if json_size(contents) > MAX_BUBBLE_BYTES:
            return [{"message": "Flex bubble exceeds 30 KB", "property": prefix}]
        return []
    if contents.get("type") != "carousel":
        return []
    details: list[Detail] = []
    bubbles = contents.get("contents")
    if isinstance(bubbles, list):
        if len(bubbles) > MAX_CAROUSEL_BUBBLES:
            details.append(
                {
                    "message": f"Size must be between 1 and {MAX_CAROUSEL_BUBBLES}",
                    "property": prefix + ".contents",
                }
            )
        for index, bubble in enumerate(bubbles):
            if json_size(bubble) > MAX_BUBBLE_BYTES:
                details.append(
                    {
                        "message": "Flex bubble exceeds 30 KB",
                        "property": f"{prefix}.contents[{index}]",
                    }
                )
    if json_size(contents) > MAX_CAROUSEL_BYTES:
        details.append({"message": "Flex carousel exceeds 50 KB", "property": prefix})
    return details


_MEDIA_KEYS = frozenset({"originalContentUrl", "previewImageUrl", "thumbnailImageUrl", "baseUrl"})
_MEDIA_TYPES = frozenset({"image", "icon", "video"})


def _media_urls(prefix: str, node: Any) -> Iterator[tuple[str, str]]:
    """Yields (property, url) for every image or video URL a message would make phones fetch."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}"
            is_media = key in _MEDIA_KEYS or (key == "url" and node.get("type") in _MEDIA_TYPES)
            if is_media and isinstance(value, str):
                yield path, value
            elif not is_media:
                yield from _media_urls(path, value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _media_urls(f"{prefix}[{index}]", value)


def _check_media(prefix: str, message: dict[str, Any], *, allow_http_media: bool) -> list[Detail]:
    details: list[Detail] = []
    for prop, url in _media_urls(prefix, message):
        if len(url) > MAX_MEDIA_URL:
            details.append({"message": "URL must be at most 2000 characters", "property": prop})
        elif not url.startswith("https://") and not (
            allow_http_media and url.startswith("http://")
        ):
            details.append({"message": "must be an HTTPS URL", "property": prop})
    return details


def check_units(units: Any) -> list[Detail]:
    if units is None:
        return []
    if not isinstance(units, list) or len(units) > 1:
        return [{"message": "Size must be between 0 and 1", "property": "customAggregationUnits"}]
    return [
        {
            "message": "must match ^[a-zA-Z0-9_]{1,30}$",
            "property": f"customAggregationUnits[{index}]",
        }
        for index, unit in enumerate(units)
        if not isinstance(unit, str) or not UNIT_NAME_RE.match(unit)
    ]


def check_user_ids(ids: list[Any], prop: str, *, indexed: bool) -> list[Detail]:
    """LINE rejects recipients that are not user ids at all; unknown well-formed ids pass."""
    return [
        {"message": "invalid user ID", "property": f"{prop}[{index}]" if indexed else prop}
        for index, uid in enumerate(ids)
        if not isinstance(uid, str) or not USER_ID_RE.match(uid)
    ]


# Rich menus: LINE's documented rules, which the generated RichMenuRequest model leaves out.
RICH_MENU_WIDTH = (800, 2500)
RICH_MENU_MIN_HEIGHT = 250
RICH_MENU_MIN_ASPECT = 1.45
RICH_MENU_MAX_AREAS = 20
RICH_MENU_MAX_NAME = 300
RICH_MENU_MAX_CHAT_BAR_TEXT = 14
INT64_MAX = 2**63 - 1


def _integer(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value <= INT64_MAX


def check_rich_menu(body: Any) -> list[Detail]:
    """Size 800–2500 × ≥ 250 and at least 1.45 : 1; selected, name (≤ 300), chatBarText (1–14)
    and areas (≤ 20) required; each area has an action and bounds inside the image."""
    if not isinstance(body, dict):
        return [{"message": "must be a JSON object", "property": ""}]
    details: list[Detail] = []

    def refuse(message: str, prop: str) -> None:
        details.append({"message": message, "property": prop})

    size = body.get("size")
    width: int | None = None
    height: int | None = None
    if not isinstance(size, dict):
        refuse("must be specified", "size")
    else:
        given_width, given_height = size.get("width"), size.get("height")
        low, high = RICH_MENU_WIDTH
        if _integer(given_width) and low <= given_width <= high:
            width = given_width
        else:
            refuse(f"must be an integer between {low} and {high}", "size.width")
        if _integer(given_height) and given_height >= RICH_MENU_MIN_HEIGHT:
            height = given_height
        else:
            refuse(f"must be an integer of at least {RICH_MENU_MIN_HEIGHT}", "size.height")
        if width is not None and height is not None and width / height < RICH_MENU_MIN_ASPECT:
            refuse(f"width / height must be at least {RICH_MENU_MIN_ASPECT}", "size")
    if not isinstance(body.get("selected"), bool):
        refuse("must be specified as true or false", "selected")
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= RICH_MENU_MAX_NAME:
        refuse(f"Length must be between 1 and {RICH_MENU_MAX_NAME}", "name")
    chat_bar_text = body.get("chatBarText")
    if not isinstance(chat_bar_text, str) or not (
        1 <= utf16_len(chat_bar_text) <= RICH_MENU_MAX_CHAT_BAR_TEXT
    ):
        refuse(f"Length must be between 1 and {RICH_MENU_MAX_CHAT_BAR_TEXT}", "chatBarText")
    areas = body.get("areas")
    if not isinstance(areas, list):
        refuse("must be specified", "areas")
        return details
    if len(areas) > RICH_MENU_MAX_AREAS:
        refuse(f"Size must be between 0 and {RICH_MENU_MAX_AREAS}", "areas")
    for index, area in enumerate(areas):
        details.extend(_check_area(f"areas[{index}]", area, width, height))
    return details


def _check_area(prefix: str, area: Any, width: int | None, height: int | None) -> list[Detail]:
    if not isinstance(area, dict):
        return [{"message": "must be an area object", "property": prefix}]
    details: list[Detail] = []
    if not isinstance(area.get("action"), dict):
        details.append({"message": "must be specified", "property": f"{prefix}.action"})
    bounds = area.get("bounds")
    if not isinstance(bounds, dict):
        details.append({"message": "must be specified", "property": f"{prefix}.bounds"})
        return details
    fine = True
    for key, least in (("x", 0), ("y", 0), ("width", 1), ("height", 1)):
        value = bounds.get(key)
        if not _integer(value) or value < least:
            details.append(
                {
                    "message": f"must be an integer of at least {least}",
                    "property": f"{prefix}.bounds.{key}",
                }
            )
            fine = False
    if (
        fine
        and width is not None
        and height is not None
        and (bounds["x"] + bounds["width"] > width or bounds["y"] + bounds["height"] > height)
    ):
        details.append(
            {"message": "must lie inside the rich menu's size", "property": f"{prefix}.bounds"}
        )
    return details
