"""`kairan demo`: the whole product on one machine, offline, with SQLite and sample data."""

from __future__ import annotations

import os
import secrets
import shlex
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from dotenv import dotenv_values
from honcho.manager import Manager
from sqlalchemy import select

from broadcasts import activation, areas, logins, templates
from broadcasts.clock import SystemClock
from linebot_app import create_app
from linebot_app.dashboard.links import login_url
from linebot_app.extensions import db
from linebot_app.schema import upgrade
from models import District, Role, StaffMember, StaffRole

SAMPLE_AREAS = Path("docs/sample-areas.csv")
# The demo's administrator: a made-up LINE id, so the dashboard can be opened without LINE.
DEMO_ADMIN = "U" + "de" * 16


def run(state_dir: Path, port: int, simulator_port: int) -> None:
    env, login = prepare(state_dir, port, simulator_port)
    web_url = env["KAIRAN_PUBLIC_URL"]
    simulator_url = env["LINE_API_BASE_URL"]
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
        target=announce, args=(web_url, simulator_url, login, state_dir), daemon=True
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
    env = {key: value for key, value in dotenv_values(env_file).items() if value is not None}
    env["KAIRAN_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    env["LINE_API_BASE_URL"] = f"http://127.0.0.1:{simulator_port}"
    os.environ.update(env)
    app = create_app()
    with app.app_context():
        upgrade(db.engine)
        if db.session.scalar(select(District.id).limit(1)) is None and SAMPLE_AREAS.exists():
            areas.import_areas(db.session, areas.read(SAMPLE_AREAS))
            # The demo shows a city already on LINE: its districts start active, not preparing.
            for district in db.session.scalars(select(District)):
                activation.activate(db.session, SystemClock(), None, district)
            db.session.commit()
        templates.load_starter_set(db.session)
        admin = db.session.scalar(select(StaffMember).where(StaffMember.line_user_id == DEMO_ADMIN))
        if admin is None:
            admin = StaffMember(line_user_id=DEMO_ADMIN, display_name="デモ管理者")
            admin.roles.append(StaffRole(role=Role.admin))
            db.session.add(admin)
            db.session.flush()
        issued = logins.issue(db.session, SystemClock(), admin)
        db.session.commit()
    return env, login_url(env["KAIRAN_PUBLIC_URL"], issued.token)


def announce(web_url: str, simulator_url: str, login: str, state_dir: Path) -> None:
    """Print the URLs once the web app and the simulator answer."""
    for url in (f"{web_url}/healthz", f"{simulator_url}/"):
        if not answers(url, seconds=60):
            print(f"demo: {url} did not answer within 60 s", flush=True)  # noqa: T201
            return
    print(  # noqa: T201 - this banner is the demo's whole user interface
        "\n"
        "  Kairan デモが起動しました / Kairan demo is running\n"
        f"    LINE シミュレーター（スマホ画面） / LINE simulator (phones) : {simulator_url}/\n"
        f"    ウェブアプリ / Web app                                    : {web_url}/healthz\n"
        f"    管理画面（デモ管理者、10分間有効） / Dashboard (demo admin, 10 minutes) :\n"
        f"      {login}\n"
        f"    新しいリンク / A new link: KAIRAN_PUBLIC_URL={web_url}"
        f" .venv/bin/kairan -e {state_dir / 'demo.env'} staff login-link {DEMO_ADMIN}\n"
        "  終了は Ctrl-C / Stop with Ctrl-C\n",
        flush=True,
    )


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
