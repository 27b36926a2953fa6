"""The compose form's target picker (issue #20): search (name, kana, code) or open one district
at a time, the chosen areas as chips with their live count and message cost.

Without JavaScript it is part of the compose form: its buttons (「探す」, 「自治会を見る」, the
pages, 「届け先を更新」) submit the whole form, which is shown again — nothing saved — with what
was typed and the chosen areas kept (`requested`). With JavaScript (static/dashboard/picker.js)
the same results come from `results` as an HTML fragment, and the chips and count from `chosen`,
a POST carrying the form's CSRF token. Both list and count only what the viewer may target: an id
outside their scope is refused (404), one outside the id columns is no id (ids.id_value).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, jsonify, render_template, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from broadcasts.circulars import target_search
from broadcasts.circulars.target_search import Chosen, Listing
from broadcasts.circulars.targeting import Target
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.forms import ConfirmForm
from linebot_app.extensions import db
from linebot_app.ids import id_value, page_value

bp = Blueprint("targets", __name__)

# The names of the picker's own inputs in the compose form.
QUERY = "picker_q"
OPENED = "picker_opened"
OPEN = "picker_district"
PAGE = "picker_page"
ACTION = "picker"


@dataclass(frozen=True)
class Picker:
    listing: Listing
    chosen: Chosen
    opened: int | None

    @property
    def selected(self) -> Target:
        return Target.of(
            (c.id for c in self.chosen.chips if c.kind == "districts"),
            (c.id for c in self.chosen.chips if c.kind == "associations"),
            (c.id for c in self.chosen.chips if c.kind == "groups"),
        )


def requested() -> bool:
    """Whether a compose POST is one of the picker's buttons (show the form again) rather
    than 「保存してプレビュー」."""
    return any(name in request.form for name in (ACTION, OPEN, PAGE))


def _id(values: MultiDict[str, str], name: str) -> int | None:
    return values.get(name, type=id_value)


def target_of(values: MultiDict[str, str]) -> Target:
    """The chosen ids a request carries (the fragment's arguments, the count's form): 404 for
    anything that is not an id (ids.id_value: out of the id columns' range, or not a number)."""
    try:
        return Target.of(
            *(
                [id_value(v) for v in values.getlist(name)]
                for name in ("districts", "associations", "groups")
            )
        )
    except ValueError:
        abort(404)


def state(target: Target) -> Picker:
    """The picker for the compose form: what the request asks to find (its own inputs, on a
    POST or in the address) and `target`'s chips."""
    values = request.form if request.method == "POST" else request.args
    opening = _id(values, OPEN)
    opened = opening or _id(values, OPENED)
    page = values.get(PAGE, 1, type=page_value) or 1
    # 「自治会を見る」 and 「校区の一覧に戻る」 browse, whatever the search box still holds.
    browsing = opening is not None or values.get(ACTION) == "browse"
    query = "" if browsing else values.get(QUERY, "")
    member = current().member
    listing = target_search.find(db.session, member, query, opened, page)
    return Picker(listing, target_search.chosen(db.session, member, target), opened)


def _require_composer() -> None:
    if not current().scope.may_compose:
        abort(403)


@bp.get("/compose/targets")
@login_required
def results() -> str:
    """The picker's results as an HTML fragment: `q`, `district` (opened), `page`, and the
    chosen ids (shown as already chosen)."""
    _require_composer()
    args = request.args
    member = current().member
    chosen = target_search.chosen(db.session, member, target_of(args))
    if chosen.refused:
        abort(404)
    opened = _id(args, "district")
    listing = target_search.find(
        db.session, member, args.get("q", ""), opened, args.get("page", 1, type=page_value) or 1
    )
    picker = Picker(listing, chosen, opened)
    return render_template("dashboard/_target_results.html", picker=picker)


@bp.post("/compose/targets/chosen")
@login_required
def chosen() -> Response:
    """The chips, count and message cost for the chosen ids (a POST with the form's CSRF
    token: it is the form's own data)."""
    _require_composer()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    chosen = target_search.chosen(db.session, current().member, target_of(request.form))
    if chosen.refused:
        abort(404)
    return jsonify(
        chips=render_template("dashboard/_target_chips.html", chips=chosen.chips),
        recipients=chosen.reach.recipients,
        quota_messages=chosen.reach.quota_messages,
        areas=len(chosen.chips),
    )
