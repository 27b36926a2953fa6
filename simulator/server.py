"""The HTTP server: werkzeug's threaded server with access logs that hide user ids."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger("simulator.server")

_USER_ID = re.compile(r"U[0-9a-f]{32}")


class _RedactingHandler(WSGIRequestHandler):
    """Werkzeug's access log would print paths such as /v2/bot/profile/U…; hide the user ids."""

    def log(self, type: str, message: str, *args: Any) -> None:
        redacted = tuple(_USER_ID.sub("U<redacted>", a) if isinstance(a, str) else a for a in args)
        getattr(log, type, log.info)(message, *redacted)


def make_simulator_server(host: str, port: int, app: Flask) -> BaseWSGIServer:
    """Threaded, so the bot can call back (reply) while the simulator awaits its webhook answer."""
    return make_server(host, port, app, threaded=True, request_handler=_RedactingHandler)
