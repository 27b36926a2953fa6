"""The per-app simulator context shared by the blueprints."""

from __future__ import annotations

import contextlib
import socket
import struct
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


def reset_connection() -> None:
    """Resets the client's connection before its request is read, as a refused connection
    would leave it: the client sees ECONNRESET or the connection end with no response (urllib3
    ProtocolError), never an HTTP status. Linger 0 makes the close that follows send a reset."""
    sock = request.environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        raise RuntimeError("resetting connections needs the werkzeug server (simulator.serve)")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
