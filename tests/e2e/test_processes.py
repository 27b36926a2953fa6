"""The processes as the Procfile and `make demo` start them, checked from outside."""

from __future__ import annotations

import contextlib
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.processes import (
    environment,
    free_port,
    procfile,
    settings_for,
    start_web,
    wait_for,
)
from tests.helpers.settings import REPO
from tests.helpers.waiting import PATIENCE, deadline, wait_until


def one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_cli_without_settings_prints_one_line_and_fails(tmp_path: Path) -> None:
    # `kairan db upgrade` needs only the database (issue #21 item 6): it runs, and a command
    # that needs LINE names what is missing.
    def kairan(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kairan", *args],
            cwd=tmp_path,
            # Only the database, in the test's folder (not the repository's instance/).
            env=environment(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'kairan.sqlite3'}"),
            capture_output=True,
            text=True,
            timeout=PATIENCE,
            check=False,
        )

    upgraded = kairan("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    line = one_line_failure(kairan("districts", "list"))
    assert "LINE_CHANNEL_SECRET" in line and "設定エラー" in line and "Configuration error" in line


def test_web_without_channel_secret_prints_one_line_and_fails(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    del settings["LINE_CHANNEL_SECRET"]
    result = subprocess.run(
        procfile()["web"],
        shell=True,
        cwd=tmp_path,
        env=environment(tmp_path, PORT=str(free_port()), **settings),
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "LINE_CHANNEL_SECRET が設定されていません" in result.stderr


def test_web_refuses_an_unmigrated_database_and_says_what_to_run(tmp_path: Path) -> None:
    result = subprocess.run(
        procfile()["web"],
        shell=True,
        cwd=tmp_path,
        env=environment(tmp_path, PORT=str(free_port()), **settings_for(tmp_path)),
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert result.returncode != 0
    assert "kairan db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_web_serves_healthz_after_migration(
    tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    env = environment(tmp_path, PORT=str(port), **settings_for(tmp_path))
    subprocess.run(["kairan", "db", "upgrade"], cwd=tmp_path, env=env, check=True, timeout=PATIENCE)
    started.append(start_web(tmp_path, env, text=True))
    assert wait_for(f"http://127.0.0.1:{port}/healthz") == 200


def test_demo_migrates_loads_samples_and_prints_its_urls(
    tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    port, simulator_port = free_port(), free_port()
    demo = subprocess.Popen(
        [
            "kairan",
            "demo",
            "--port",
            str(port),
            "--simulator-port",
            str(simulator_port),
            "--state-dir",
            str(tmp_path / "state"),
        ],
        cwd=REPO,
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started.append(demo)
    assert demo.stdout is not None
    give_up = deadline()
    seen = []
    while time.monotonic() < give_up:
        line = demo.stdout.readline()
        seen.append(line)
        if f"http://127.0.0.1:{port}/healthz" in line or not line:
            break
    assert any(f"http://127.0.0.1:{port}/healthz" in line for line in seen), "".join(seen)
    assert any(f"http://127.0.0.1:{simulator_port}/" in line for line in seen), "".join(seen)
    assert wait_for(f"http://127.0.0.1:{port}/healthz") == 200
    assert wait_for(f"http://127.0.0.1:{simulator_port}/") == 200
    # The worker and the clock run beside them, and the banner ends with a login link.
    login = re.compile(rf"http://127\.0\.0\.1:{port}/dashboard/login/\S+")
    output = "".join(seen)
    while time.monotonic() < give_up and not (
        "started, ticking" in output
        and re.search(r"worker \S+ started", output)
        and login.search(output)
    ):
        line = demo.stdout.readline()
        if not line:
            break
        output += line
    assert "started, ticking" in output, output
    assert re.search(r"worker \S+ started", output), output
    link = login.search(output)
    assert link is not None, output
    # The demo's administrator opens the dashboard's login page with it.
    assert wait_for(link.group()) == 200
    assert (tmp_path / "state" / "demo.env").stat().st_mode & 0o077 == 0
    demo.send_signal(signal.SIGINT)
    demo.wait(timeout=PATIENCE)
    demo.stdout.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "state" / "demo.sqlite3")) as database:
        assert database.execute("SELECT count(*) FROM districts").fetchone() == (45,)


def test_a_second_worker_on_sqlite_refuses_and_the_first_stops_cleanly(tmp_path: Path) -> None:
    env = environment(tmp_path, **settings_for(tmp_path))
    subprocess.run(["kairan", "db", "upgrade"], cwd=tmp_path, env=env, check=True, timeout=PATIENCE)
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        first = subprocess.Popen(
            ["kairan", "worker"], cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until(
            lambda: b" started" in log.read_bytes() or first.poll() is not None,
            lambda: log.read_text(encoding="utf-8"),
        )
        assert first.poll() is None, log.read_text(encoding="utf-8")
        second = subprocess.run(
            ["kairan", "worker"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=PATIENCE,
            check=False,
        )
        assert "SQLite" in one_line_failure(second)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=PATIENCE) == 0
        assert b"stopped" in log.read_bytes()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


@pytest.mark.browser
def test_the_demo_sets_up_its_line_and_the_readmes_commands_work_against_it(
    tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    """The demo's settings name its web app and its simulator (so `kairan -e instance/demo.env
    …` reaches them, never the real LINE); the simulator has Kairan's rich menu; and the demo's
    administrator has a phone there, from which 「ログイン」 brings a new login link."""
    from dotenv import dotenv_values

    from linebot_app.demo import DEMO_ADMIN
    from simulator.testing import SimulatorClient
    from tests.helpers.browser import chromium

    port, simulator_port = free_port(), free_port()
    web, simulator = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{simulator_port}"
    state = tmp_path / "state"
    demo = subprocess.Popen(
        [
            "kairan",
            "demo",
            "--port",
            str(port),
            "--simulator-port",
            str(simulator_port),
            "--state-dir",
            str(state),
        ],
        cwd=REPO,
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started.append(demo)
    assert demo.stdout is not None
    output = ""
    # Until the banner's last line, or the demo's end (the test's timeout bounds the wait).
    for line in demo.stdout:
        output += line
        if "Ctrl-C" in output:
            break
    assert "Ctrl-C" in output, output
    # The banner says where the administrator's phone is, to ask for a new link there.
    phone = f"{simulator}/phones/{DEMO_ADMIN}"
    assert phone in output and "「ログイン」" in output, output

    settings = dotenv_values(state / "demo.env")
    assert settings["KAIRAN_PUBLIC_URL"] == web
    assert settings["LINE_API_BASE_URL"] == simulator
    assert (state / "demo.env").stat().st_mode & 0o077 == 0

    sim = SimulatorClient(simulator)
    assert sim.user(DEMO_ADMIN)["state"] == "following"
    menu = sim.call("GET", f"/users/{DEMO_ADMIN}/chat")["richMenu"]
    assert menu is not None and menu["hasImage"] and menu["chatBarText"] == "メニュー"

    # The README's commands, with the demo's settings and nothing else.
    for command in (["line", "setup"], ["staff", "login-link", DEMO_ADMIN]):
        result = subprocess.run(
            ["kairan", "-e", str(state / "demo.env"), *command],
            cwd=tmp_path,
            env=environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    assert f"{web}/dashboard/login/" in result.stdout

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 430, "height": 900}, locale="ja-JP")
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.goto(phone)
        page.locator("#rich-menu .rich-menu-image").wait_for()
        page.fill("#message-input", "ログイン")
        page.click("#send")
        with context.expect_page() as opened:
            page.get_by_role("button", name="管理画面を開く").last.click()
        login = opened.value
        login.wait_for_load_state()
        assert login.url.startswith(f"{web}/dashboard/login/")
        login.click("#login")
        login.wait_for_url(f"{web}/dashboard/")
