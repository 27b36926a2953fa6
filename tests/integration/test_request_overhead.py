"""Per-request overhead found by profiling the webhook (issue #9, docs/BENCHMARKS.md)."""

from __future__ import annotations

import inspect

from flask import Flask


def test_no_async_teardown_starts_a_thread_per_request(app: Flask) -> None:
    # flask-sqlalchemy-lite registers one for async sessions; Kairan has none, and Flask would
    # run it through asgiref's thread at the end of every request.
    assert app.teardown_appcontext_funcs
    assert not [f for f in app.teardown_appcontext_funcs if inspect.iscoroutinefunction(f)]
