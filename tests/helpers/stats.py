"""What the `sent` fixture (tests/integration/conftest.py) hands a statistics test."""

from __future__ import annotations

from dataclasses import dataclass

from models import Association, Circular, StaffMember


@dataclass
class Sent:
    circular: Circular
    x: Association
    x2: Association
    y: Association
    officer_x: StaffMember
    admin: StaffMember
