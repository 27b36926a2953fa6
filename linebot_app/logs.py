"""Logging, set up in one place.

Log records carry ids (circular, batch, webhook event) and never message text, names or LINE user
ids.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


def configure_logging(level: str) -> None:
    """Idempotent: the factory may run more than once in a process (tests, CLI)."""
    root = logging.getLogger()
    if any(getattr(handler, "_kairan", False) for handler in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler._kairan = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic reports its connection details on every schema check; only problems matter.
    logging.getLogger("alembic").setLevel(logging.WARNING)
