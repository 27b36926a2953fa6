"""Column types shared by the models."""

from __future__ import annotations

import enum

from sqlalchemy import Enum


def enum_type(enum_class: type[enum.Enum], name: str) -> Enum:
    """Store an enum by value as a short string with a CHECK constraint.

    Portable between SQLite and PostgreSQL, and a new state needs no ALTER TYPE.
    """
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
