"""Group chats: LINE's group endpoints (summary, member count, leave) and the /_sim/groups control
calls that stand for what people do in the LINE app — make a group, invite the bot, join, leave,
speak, remove the bot — each sending the webhook event LINE documents (join, leave,
memberJoined, memberLeft, message with a group source).

A push to a group id goes through `messaging.push` (`api.send_to_group`)."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, Response, jsonify

from simulator import webhooks
from simulator.api import LineBlueprint, error
from simulator.context import sim
from simulator.control import ControlError, json_object, known_user, string_field
from simulator.state import GROUP_ID_RE, SimGroup

bp = LineBlueprint("line_groups", __name__)
control = Blueprint("sim_groups", __name__, url_prefix="/_sim/groups")


@control.errorhandler(ControlError)
def _control_error(failure: ControlError) -> Response:
    response = jsonify({"message": failure.message})
    response.status_code = failure.status
    return response


def _bot_group(group_id: str) -> SimGroup | None:
    """The group, if the bot is in it: LINE answers 404 for any other id."""
    group = sim().state.groups.get(group_id)
    return group if group is not None and group.bot_member else None


# -- LINE's endpoints --------------------------------------------------------------------------


@bp.get("/v2/bot/group/<group_id>/summary")
@bp.rate_limited("default")
def summary(group_id: str) -> Response:
    with sim().state.lock:
        group = _bot_group(group_id)
        if group is None:
            return error(404, "Not found")
        return jsonify({"groupId": group.group_id, "groupName": group.name})


@bp.get("/v2/bot/group/<group_id>/members/count")
@bp.rate_limited("default")
def member_count(group_id: str) -> Response:
    """The members, not counting the bot (as LINE documents)."""
    with sim().state.lock:
        group = _bot_group(group_id)
        if group is None:
            return error(404, "Not found")
        return jsonify({"count": len(group.member_ids)})


@bp.post("/v2/bot/group/<group_id>/leave")
@bp.rate_limited("default")
def leave(group_id: str) -> Response:
    """The bot leaves; LINE sends no leave event for a departure the bot asked for itself."""
    state = sim().state
    with state.lock:
        group = _bot_group(group_id)
        if group is None:
            return error(404, "Not found")
        group.bot_member = False
        group.timeline.append({"from": "system", "kind": "botLeft", "timestamp": state.now_ms()})
    return jsonify({})


# -- what people do in the LINE app (control) --------------------------------------------------


def _group(group_id: str) -> SimGroup:
    group = sim().state.groups.get(group_id)
    if group is None:
        raise ControlError(404, "unknown group")
    return group


def _member_ids(body: dict[str, Any]) -> list[str]:
    ids = body.get("memberIds", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ControlError(400, "'memberIds' must be a list of user ids")
    for user_id in ids:
        known_user(user_id)
    return list(dict.fromkeys(ids))


@control.post("")
def create_group() -> tuple[Response, int]:
    body = json_object()
    name = body.get("groupName", "グループ")
    if not isinstance(name, str) or not name.strip():
        raise ControlError(400, "'groupName' must be a non-empty string")
    state = sim().state
    with state.lock:
        group_id = body.get("groupId") or "C" + secrets.token_hex(16)
        if not isinstance(group_id, str) or not GROUP_ID_RE.match(group_id):
            raise ControlError(400, "groupId must match C[0-9a-f]{32}")
        if group_id in state.groups:
            raise ControlError(400, "groupId already exists")
        group = SimGroup(group_id, name.strip(), _member_ids(body))
        state.groups[group_id] = group
        return jsonify(group.summary()), 201


@control.get("/<group_id>")
def get_group(group_id: str) -> Response:
    with sim().state.lock:
        return jsonify(_group(group_id).summary())


_INBOX_KEYS = ("requestId", "messageId", "message", "source", "timestamp")


@control.get("/<group_id>/inbox")
def group_inbox(group_id: str) -> Response:
    """What the bot posted in the group (pushes and replies), in order."""
    with sim().state.lock:
        group = _group(group_id)
        messages = [
            {key: entry[key] for key in _INBOX_KEYS}
            for entry in group.timeline
            if entry["from"] == "bot"
        ]
    return jsonify({"messages": messages})


@control.post("/<group_id>/<action>")
def group_action(group_id: str, action: str) -> Response:
    """invite-bot (join), remove-bot (leave), join and leave (a member: memberJoined,
    memberLeft), text (a member speaks)."""
    body = json_object()
    simulator = sim()
    state = simulator.state
    with state.lock:
        group = _group(group_id)
        event = _group_event(group, action, body)
        summary_now = group.summary()
    webhook = webhooks.deliver(simulator, [event]) if event is not None else None
    return jsonify({"group": summary_now, "event": event, "webhook": webhook})


def _group_event(group: SimGroup, action: str, body: dict[str, Any]) -> dict[str, Any] | None:
    simulator = sim()
    now = simulator.state.now_ms()
    if action == "invite-bot":
        if group.bot_member:
            return None
        group.bot_member = True
        return webhooks.make_group_event(simulator, group, "join")
    if action == "remove-bot":
        if not group.bot_member:
            return None
        group.bot_member = False
        group.timeline.append({"from": "system", "kind": "botRemoved", "timestamp": now})
        return webhooks.make_group_event(simulator, group, "leave")
    user_id = known_user(string_field(body, "userId")).user_id
    if action == "join":
        if user_id in group.member_ids:
            return None
        group.member_ids.append(user_id)
        members = {"members": [{"type": "user", "userId": user_id}]}
        return _if_bot(group, "memberJoined", joined=members)
    if action == "leave":
        if user_id not in group.member_ids:
            return None
        group.member_ids.remove(user_id)
        members = {"members": [{"type": "user", "userId": user_id}]}
        return _if_bot(group, "memberLeft", left=members)
    if action == "text":
        if user_id not in group.member_ids:
            raise ControlError(409, "only a member speaks in the group")
        text = string_field(body, "text")
        if not text:
            raise ControlError(400, "'text' must not be empty")
        group.timeline.append({"from": "user", "userId": user_id, "text": text, "timestamp": now})
        message = {
            "type": "text",
            "id": simulator.state.next_message_id(),
            "quoteToken": secrets.token_urlsafe(24),
            "text": text,
        }
        return _if_bot(group, "message", user_id=user_id, message=message)
    raise ControlError(404, "unknown action")


def _if_bot(group: SimGroup, event_type: str, **payload: Any) -> dict[str, Any] | None:
    """LINE tells the bot only of what happens in groups it is in."""
    if not group.bot_member:
        return None
    return webhooks.make_group_event(sim(), group, event_type, **payload)
