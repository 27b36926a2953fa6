"""「今月のメッセージ」: messages used this month per district, against LINE's monthly quota and
what is already committed (broadcasts.stats.messages_used, broadcasts.circulars.budget), and
what the quota holds now, each linked to its circular's page and its 「再開」.

For an admin (every district) and a promoter (their districts); anyone else finds no such page
(404, as for an id outside one's scope). LINE's quota is asked after the read transaction ends.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from broadcasts.circulars import budget
from broadcasts.schedule import holds
from broadcasts.schedule.rules import QuietHours
from broadcasts.stats import messages_used
from linebot_app.dashboard.auth import current, login_required
from linebot_app.dashboard.common import QuotaUnknown, line_quota, page_number
from linebot_app.extensions import clock, db, settings

bp = Blueprint("messages", __name__)


@bp.get("/messages")
@login_required
def month_page() -> str:
    scope = current().scope
    if not (scope.city or scope.district_ids):
        abort(404)
    page = page_number()
    now = clock.now()
    use = messages_used.month_use(db.session, scope, now, page)
    held = holds.held_in(db.session, scope)
    committed = budget.committed(db.session, now, QuietHours.parse(settings().KAIRAN_QUIET_HOURS))
    try:
        remaining, quota_unknown = line_quota(), False
    except QuotaUnknown:
        remaining, quota_unknown = None, True
    return render_template(
        "dashboard/messages.html",
        use=use,
        page=page,
        page_size=messages_used.PAGE_SIZE,
        committed=committed,
        remaining=remaining,
        quota_unknown=quota_unknown,
        held=held,
    )
