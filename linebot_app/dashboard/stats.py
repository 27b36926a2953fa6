"""A circular's figures and the areas' reach: the statistics page and its live progress, who
has not confirmed (for an association's officers), the associations' digital reach, and their
CSV exports (each audited and committed before its rows are read).

Thin: the page is one service result (broadcasts.stats.circular_page); the figures are
broadcasts.stats's, always inside the viewer's scope."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from broadcasts.households import paper
from broadcasts.schedule.rules import QuietHours
from broadcasts.staff import audit
from broadcasts.staff.scope import Scope
from broadcasts.stats import (
    by_area,
    circular_counts,
    circular_page,
    digital_reach,
    reach_page,
    responses,
)
from linebot_app.dashboard import charts
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.common import page_number, percent_cell, seen_circular
from linebot_app.dashboard.exports import csv_response
from linebot_app.dashboard.forms import ConfirmForm, PaperHouseholdsForm
from linebot_app.extensions import clock, db, line, settings
from linebot_app.ids import id_value
from models import Association

bp = Blueprint("stats", __name__)


@bp.get("/circulars/<int:circular_id>")
@login_required
def circular_stats(circular_id: int) -> str:
    who = current()
    circular = seen_circular(circular_id)
    page = circular_page.read(
        db.session,
        line(),
        clock.now(),
        who.scope,
        who.member,
        circular,
        wanted=request.args.get("association", type=id_value),
        quiet=QuietHours.parse(settings().KAIRAN_QUIET_HOURS),
    )
    chart = (
        charts.cumulative(page.confirmations, page.released_at, page.now, page.counts.delivered)
        if page.released_at
        else None
    )
    return render_template(
        "dashboard/stats.html",
        page=page,
        chart=chart,
        # Built once: url_for for each of 500 associations was a tenth of the page.
        page_url=url_for("dashboard.stats.circular_stats", circular_id=circular_id),
        resume_form=ConfirmForm(),
    )


@bp.get("/circulars/<int:circular_id>/progress")
@login_required
def circular_progress(circular_id: int) -> Response:
    scope = current().scope
    circular = seen_circular(circular_id)
    counts = circular_counts.summary(db.session, circular_id, scope)
    return jsonify(
        status=circular.status.value,
        recipients=counts.recipients,
        delivered=counts.delivered,
        finished=counts.finished,
        failed=counts.failed,
        confirmed=counts.confirmed,
    )


@bp.get("/circulars/<int:circular_id>/not-confirmed")
@login_required
def not_confirmed(circular_id: int) -> str:
    scope = current().scope
    circular = seen_circular(circular_id)
    association_id = request.args.get("association", type=id_value)
    if association_id is None and len(scope.association_ids) == 1:
        association_id = next(iter(scope.association_ids))
    # Names are for an association's own officers only.
    if association_id is None or not scope.names_residents_of(association_id):
        abort(404)
    association = db.session.get_one(Association, association_id)
    residents = responses.not_confirmed(db.session, circular_id, association_id)
    return render_template(
        "dashboard/not_confirmed.html",
        circular=circular,
        association=association,
        residents=residents,
    )


# --- exports ------------------------------------------------------------------------------------


def _export(circular_id: int, kind: str) -> Scope:
    """The viewer's scope for exporting a circular they may see, the export audited and
    committed (the rows are read afterwards, in a fresh transaction)."""
    who = current()
    seen_circular(circular_id)
    audit.record(
        db.session, clock, who.member.id, "export.circular", "circular", circular_id, kind=kind
    )
    db.session.commit()
    return who.scope


@bp.get("/circulars/<int:circular_id>/stats.csv")
@login_required
def export_stats(circular_id: int) -> Response:
    scope = _export(circular_id, "stats")
    rows = by_area.breakdown(db.session, circular_id, scope)
    counts = by_area.total(rows)
    header = [
        "区分",
        "校区",
        "自治会",
        "班",
        "配信対象",
        "配信済み",
        "開封",
        "確認",
        "回答",
        "失敗",
        "開封率(%)",
        "確認率(%)",
        "回答率(%)",
    ]

    def line_of(level: str, d: str, a: str, g: str, c: circular_counts.Counts) -> list[Any]:
        return [
            level,
            d,
            a,
            g,
            c.recipients,
            c.delivered,
            c.opened,
            c.confirmed,
            c.answered,
            c.failed,
            percent_cell(c.opened_rate),
            percent_cell(c.confirmed_rate),
            percent_cell(c.answered_rate),
        ]

    body = [line_of("合計", "", "", "", counts)]
    for row in rows:
        if row.level == "district":
            body.append(line_of("校区", row.name, "", "", row.counts))
        elif row.level == "association":
            body.append(line_of("自治会", row.district_name, row.name, "", row.counts))
        else:
            body.append(
                line_of("班", row.district_name, row.association_name, row.name, row.counts)
            )
    return csv_response(f"circular-{circular_id}-stats.csv", header, body)


@bp.get("/circulars/<int:circular_id>/answers.csv")
@login_required
def export_answers(circular_id: int) -> Response:
    scope = _export(circular_id, "answers")
    tallies = responses.answer_tallies(db.session, circular_id, scope)
    counts = circular_counts.summary(db.session, circular_id, scope)
    body = [[t.position, t.label, t.count, percent_cell(counts.rate(t.count))] for t in tallies]
    return csv_response(
        f"circular-{circular_id}-answers.csv",
        ["番号", "選択肢", "回答数", "配信済みに対する割合(%)"],
        body,
    )


# --- associations and reach ---------------------------------------------------------------------


@bp.get("/associations")
@login_required
def associations() -> Response | str:
    """「自治会と到達率」: searched (name, kana, code), filtered by district, sorted by reach and
    paged (broadcasts.stats.reach_page), with the per-district summary."""
    scope = current().scope
    if scope.groups_only:
        # A 班長 sees their own 班 only, not their association's figures.
        return redirect(url_for("dashboard.paper.groups"))
    args = request.args
    district_id = args.get("district", type=id_value) if args.get("district") else None
    if args.get("district") and district_id is None:
        abort(404)
    shown = reach_page.read(
        db.session,
        scope,
        query=args.get("q", ""),
        district_id=district_id,
        sort=args.get("sort", "area"),
        page=page_number(),
        with_districts=not scope.association_ids,
    )
    if district_id is not None and district_id not in dict(shown.choices):
        abort(404)  # another's district, or none: like any id outside the scope
    ids = [r.id for r in shown.rows]
    return render_template(
        "dashboard/associations.html",
        shown=shown,
        reach=shown.rows,
        districts=shown.districts,
        editable=set(scope.association_ids) if not scope.city else set(ids),
        by_group=paper.kept_per_group(db.session, ids),
        form=PaperHouseholdsForm(),
        page_url=url_for("dashboard.stats.associations"),
    )


@bp.get("/associations.csv")
@login_required
def export_reach() -> Response:
    who = current()
    if who.scope.groups_only:
        abort(404)  # a 班長 sees their own 班 only
    reach = digital_reach.reach_by_association(db.session, who.scope)
    audit.record(db.session, clock, who.member.id, "export.reach", "association", None)
    db.session.commit()
    header = [
        "校区",
        "自治会",
        "世帯数",
        "LINE登録者",
        "紙の世帯",
        "到達率(%)",
        "デジタル率(%)",
    ]
    body = [
        [
            r.district_name,
            r.name,
            r.households,
            r.registered,
            r.paper,
            percent_cell(r.reach),
            percent_cell(r.digital_share),
        ]
        for r in reach
    ]
    return csv_response("reach.csv", header, body)
