"""`kairan demo`: the whole product on one machine, offline, with SQLite and sample data."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import urllib3
from dotenv import dotenv_values, set_key
from honcho.manager import Manager
from sqlalchemy import select

from broadcasts.composing import templates
from broadcasts.delivery.line import connect
from broadcasts.rollout import activation, area_file, areas, richmenu
from broadcasts.staff import logins
from linebot_app import create_app
from linebot_app.dashboard.links import login_url
from linebot_app.extensions import clock, db
from linebot_app.schema import upgrade
from models import District, Role, StaffMember, StaffRole

SAMPLE_AREAS = Path("docs/sample-areas.csv")
# The demo's administrator: a made-up LINE id, with a phone of its own in the simulator.
DEMO_ADMIN = "U" + "de" * 16
DEMO_ADMIN_NAME = "デモ管理者"


def run(state_dir: Path, port: int, simulator_port: int) -> None:
    env, login = prepare(state_dir, port, simulator_port)
    web_url = env["KAIRAN_PUBLIC_URL"]
    kairan = shlex.quote(str(Path(sys.executable).with_name("kairan")))
    manager = Manager()
    manager.add_process(
        "web",
        f"{shlex.quote(sys.executable)} -m gunicorn -c python:linebot_app.gunicorn_conf"
        " 'linebot_app:create_app()'",
        env={**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2"},
    )
    manager.add_process(
        "simulator",
        f"{kairan} simulator --port {simulator_port} --webhook-url {web_url}/callback"
        # The demo serves images over http; real LINE (and the simulator otherwise) wants https.
        " --allow-http-media",
        env={**os.environ, **env},
    )
    # The delivery worker and the clock, as the Procfile runs them.
    manager.add_process("worker", f"{kairan} worker", env={**os.environ, **env})
    manager.add_process("clock", f"{kairan} scheduler", env={**os.environ, **env})
    threading.Thread(
        target=announce, args=(env, login, state_dir / "demo.env"), daemon=True
    ).start()
    manager.loop()
    sys.exit(manager.returncode)


def prepare(state_dir: Path, port: int, simulator_port: int) -> tuple[dict[str, str], str]:
    """Generate the demo's settings once, migrate its database and load the sample areas; the
    settings and a fresh login link for the demo's administrator."""
    state_dir.mkdir(parents=True, exist_ok=True)
    env_file = state_dir / "demo.env"
    if not env_file.exists():
        # Generated, not built in: a demo that is later exposed must not share known secrets.
        env_file.write_text(
            "\n".join(
                [
                    "KAIRAN_DEMO=true",
                    f"LINE_CHANNEL_SECRET={secrets.token_hex(16)}",
                    f"LINE_CHANNEL_ACCESS_TOKEN={secrets.token_urlsafe(32)}",
                    f"SECRET_KEY={secrets.token_urlsafe(48)}",
                    f"DATABASE_URL=sqlite:///{state_dir / 'demo.sqlite3'}",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        env_file.chmod(0o600)
    # Written to the file, on every start (the ports may change), so that the README's commands
    # run with `-e instance/demo.env` reach this demo's web app and simulator, not the real LINE.
    for key, value in (
        ("KAIRAN_PUBLIC_URL", f"http://127.0.0.1:{port}"),
        ("LINE_API_BASE_URL", f"http://127.0.0.1:{simulator_port}"),
    ):
        set_key(env_file, key, value, quote_mode="never")
    env = {key: value for key, value in dotenv_values(env_file).items() if value is not None}
    os.environ.update(env)
    app = create_app()
    with app.app_context():
        upgrade(db.engine)
        if db.session.scalar(select(District.id).limit(1)) is None and SAMPLE_AREAS.exists():
            areas.import_areas(db.session, area_file.read(SAMPLE_AREAS))
            # The demo shows a city already on LINE: its districts start active, not preparing.
            for district in db.session.scalars(select(District)):
                activation.activate(db.session, clock, None, district)
            db.session.commit()
        templates.load_starter_set(db.session)
        admin = db.session.scalar(select(StaffMember).where(StaffMember.line_user_id == DEMO_ADMIN))
        if admin is None:
            admin = StaffMember(line_user_id=DEMO_ADMIN, display_name=DEMO_ADMIN_NAME)
            admin.roles.append(StaffRole(role=Role.admin))
            db.session.add(admin)
            db.session.flush()
        issued = logins.issue(db.session, clock, admin)
        db.session.commit()
    return env, login_url(env["KAIRAN_PUBLIC_URL"], issued.token)


def announce(env: dict[str, str], login: str, env_file: Path) -> None:
    """Once the web app and the simulator answer, set the simulator up and print the URLs."""
    web_url, simulator_url = env["KAIRAN_PUBLIC_URL"], env["LINE_API_BASE_URL"]
    for url in (f"{web_url}/healthz", f"{simulator_url}/"):
        if not answers(url, seconds=60):
            print(f"demo: {url} did not answer within 60 s", flush=True)  # noqa: T201
            return
    notes = set_up_simulator(simulator_url, env["LINE_CHANNEL_ACCESS_TOKEN"])
    kairan = Path(sys.executable).with_name("kairan")
    print(  # noqa: T201 - this banner is the demo's whole user interface
        "\n"
        "  Kairan デモが起動しました / Kairan demo is running\n"
        f"    LINE シミュレーター（スマホ画面） / LINE simulator (phones) : {simulator_url}/\n"
        f"    ウェブアプリ / Web app                                    : {web_url}/healthz\n"
        f"    管理画面（デモ管理者、10分間有効） / Dashboard (demo admin, 10 minutes) :\n"
        f"      {login}\n"
        "    新しいリンクは、デモ管理者のスマホから「ログイン」と送ると届きます"
        " / For a new link, send 「ログイン」 from the demo admin's phone:\n"
        f"      {simulator_url}/phones/{DEMO_ADMIN}\n"
        f"    コマンドで / or with a command:\n"
        f"      {kairan} -e {env_file} staff login-link {DEMO_ADMIN}\n"
        + "".join(f"    {note}\n" for note in notes)
        + "  終了は Ctrl-C / Stop with Ctrl-C\n",
        flush=True,
    )


def set_up_simulator(simulator_url: str, access_token: str) -> list[str]:
    """What a real channel has once set up: Kairan's rich menu (as `kairan line setup` makes
    it), and the demo administrator's phone, following the bot. The simulator keeps nothing
    between runs, so every start does this again. Returns notes for the banner."""
    from linebot.v3.messaging import ApiException

    notes = []
    try:
        image = richmenu.render(richmenu.find_font())
        richmenu.install(connect(simulator_url, access_token), image)
    except richmenu.FontMissingError as error:
        notes.append(f"リッチメニューなし / No rich menu: {error}")
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        notes.append(f"リッチメニューなし / No rich menu: {type(error).__name__}")
    try:
        _control(simulator_url, "/users", {"displayName": DEMO_ADMIN_NAME, "userId": DEMO_ADMIN})
        _control(simulator_url, f"/users/{DEMO_ADMIN}/follow", {})
    except (urllib.error.URLError, OSError) as error:
        notes.append(f"デモ管理者のスマホなし / No phone for the demo admin: {error}")
    return notes


def _control(simulator_url: str, path: str, body: dict[str, str]) -> None:
    """One call to the simulator's control API (the phones' side of LINE)."""
    request = urllib.request.Request(  # noqa: S310 - the demo's own simulator, on loopback
        f"{simulator_url}/_sim{path}",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310 - loopback
        pass


def answers(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    return False
