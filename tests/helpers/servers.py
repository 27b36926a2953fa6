"""The app served over HTTP from a thread of the test's own process, and LINE's webhooks aimed
at it, for tests that reach it as a phone or a browser would."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from flask import Flask
from werkzeug.serving import make_server

from simulator.testing import SimulatorClient


@contextlib.contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app over HTTP in a thread; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def serving_line(app: Flask, sim: SimulatorClient) -> Iterator[str]:
    """The app over HTTP with the simulator's webhook pointing at its /callback; its base URL."""
    with serving(app) as base:
        # Generous: a loaded CI machine must not turn a slow answer into a redelivery.
        sim.set_webhook_url(f"{base}/callback", timeout_seconds=10)
        try:
            yield base
        finally:
            sim.set_webhook_url(None)
