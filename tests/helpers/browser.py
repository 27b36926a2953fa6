"""A real headless Chromium, and what people do in it that many browser tests repeat."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.testing import SimulatorClient
from tests.helpers.settings import TEST_SETTINGS

CHROMIUM = Path("/usr/bin/chromium")
# Headless Debian Chromium without the calls home a closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A real headless Chromium driven by Playwright; skipped when it is not installed, except
    in CI, where a missing browser fails so its tests can never silently vanish."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {CHROMIUM} is missing: the browser test would vanish")
        pytest.skip(f"{CHROMIUM} not installed (make browser) - browser test skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Any, served: str, sim: SimulatorClient, user: str) -> None:
    """As staff do: 「ログイン」 in LINE, then the link the bot answers with, on the app at
    `served`."""
    sim.text(user, "ログイン")
    link = sim.inbox(user)[-1]["message"]["contents"]["footer"]["contents"][0]["action"]["uri"]
    page.goto(link.replace(TEST_SETTINGS["KAIRAN_PUBLIC_URL"], served))
    page.click("#login")
