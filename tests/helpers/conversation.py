"""A resident's side of the LINE conversation in the simulator: what the bot said last, the
quick-reply chips it offered, and tapping one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Resident
from simulator.testing import SimulatorClient


def last(sim: SimulatorClient, user: str) -> dict[str, Any]:
    message: dict[str, Any] = sim.inbox(user)[-1]["message"]
    return message


def choices(message: dict[str, Any]) -> dict[str, str]:
    """Quick-reply label → postback data."""
    items = message.get("quickReply", {}).get("items", [])
    return {item["action"]["label"]: item["action"]["data"] for item in items}


def tap(sim: SimulatorClient, user: str, label: str) -> dict[str, Any]:
    """Tap the last message's quick-reply chip `label`, as LINE posts it back; the answer."""
    data = choices(last(sim, user))[label]
    sim.postback(user, data, display_text=label)
    return last(sim, user)


def resident_of(session: Session, user: str) -> Resident | None:
    session.expire_all()
    return session.scalars(select(Resident).where(Resident.line_user_id == user)).first()
