"""The per-app simulator context shared by the blueprints."""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass

from flask import current_app, request

from simulator.state import SimState

EXTENSION_KEY = "line_simulator"


@dataclass
class Simulator:
    channel_secret: str
    access_token: str
    state: SimState
    # LINE only fetches media over HTTPS; an offline demo may need to relax that on purpose.
    allow_http_media: bool = False


def sim() -> Simulator:
    simulator: Simulator = current_app.extensions[EXTENSION_KEY]
    return simulator


def drop_connection() -> None:
    """Closes the client's connection without an HTTP answer.

    Shutting the socket down (rather than closing it) leaves werkzeug's own file objects valid:
    its attempt to write the response then fails with BrokenPipeError, which werkzeug treats as a
    dropped connection and ignores, while the client sees the connection end with no response
    (http.client's RemoteDisconnected, wrapped by urllib3 as ProtocolError).
    """
    sock = request.environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        raise RuntimeError("dropping connections needs the werkzeug server (simulator.serve)")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
