"""Benchmark (issue #20): 「自治会と到達率」 and the compose page at city scale.

A city of 45 districts and `--associations` associations (2,266 by default, written by
bench/make_sample_areas.py and loaded with the area import, 班 included) and `--residents`
LINE residents (300,000 by default; a tenth of them in two-person households, as family
registration makes them). Through the Flask test client, logged in as the city's admin:

- `/dashboard/associations` — the first request of a fresh app (templates not compiled yet),
  then `--repeat` requests each of: the first page, sorted by reach, a kana search, and one
  district sorted by reach at its second page; the target is < 1 s (p95) for each;
- `/dashboard/compose` — its size in bytes (the target: < 150 KB) and its time;
- `/dashboard/compose/targets?q=…` — the picker's search fragment.

Baseline: `GET /healthz` in the same app and client. Nothing is invented: every figure is
measured on this machine when the script runs.

    python bench/reach_page.py --database sqlite
    python bench/reach_page.py --database postgresql --url postgresql://…/db   # wipes that DB
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, func, insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import REPO, Figure, percentile, show, write_figures
from broadcasts.core.clock import SystemClock
from broadcasts.rollout import area_file, areas
from broadcasts.staff import logins
from linebot_app import create_app
from linebot_app.config import Settings
from linebot_app.dashboard.auth import SESSION_KEY
from linebot_app.gunicorn_conf import post_worker_init
from linebot_app.schema import upgrade
from models import (
    Association,
    District,
    DistrictStatus,
    Group,
    Household,
    HouseholdMember,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)
from models.session import normalise_database_url, tune

REACH_TARGET_MS = 1000
COMPOSE_TARGET_BYTES = 150_000
REGISTERED = datetime(2026, 11, 1, tzinfo=UTC)


def fresh_engine(database: str, url: str | None) -> tuple[Engine, str]:
    if database == "sqlite" and url is None:
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="kairan-bench-")) / "bench.sqlite3"
        url = f"sqlite:///{path}"
    if url is None:
        raise SystemExit("--url is required for postgresql (its database is wiped)")
    url = normalise_database_url(url)
    engine = tune(create_engine(url))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    return engine, url


def populate(engine: Engine, associations: int, residents: int) -> int:
    """The city and its residents; returns the admin's id."""
    csv_text = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "make_sample_areas.py"),
            "--associations",
            str(associations),
        ],
        check=True,
        capture_output=True,
    ).stdout
    with Session(engine) as session:
        areas.import_areas(session, area_file.parse(csv_text))
        session.execute(District.__table__.update().values(status=DistrictStatus.active.name))
        session.commit()
        places = session.execute(
            select(Association.id, func.min(Group.id))
            .outerjoin(Group, Group.association_id == Association.id)
            .group_by(Association.id)
            .order_by(Association.id)
        ).all()
        rows = []
        for r in range(residents):
            association_id, group_id = places[(r * 7) % len(places)]
            rows.append(
                {
                    "line_user_id": f"U{r:032x}",
                    "association_id": association_id,
                    "group_id": group_id if r % 2 else None,
                    "registered_at": REGISTERED + timedelta(seconds=r),
                }
            )
        for start in range(0, len(rows), 20_000):
            session.execute(insert(Resident), rows[start : start + 20_000])
        session.commit()
        # A tenth of the residents share a household with the next one.
        pairs = residents // 20
        session.execute(insert(Household), [{"created_at": REGISTERED} for _ in range(pairs)])
        household_ids = list(session.scalars(select(Household.id).order_by(Household.id)))
        resident_ids = list(session.scalars(select(Resident.id).order_by(Resident.id)))
        members = []
        for n, household_id in enumerate(household_ids):
            members.append({"household_id": household_id, "resident_id": resident_ids[2 * n]})
            members.append({"household_id": household_id, "resident_id": resident_ids[2 * n + 1]})
        session.execute(insert(HouseholdMember), members)
        admin = StaffMember(line_user_id="U" + "f" * 32, display_name="市 管理者")
        admin.roles.append(StaffRole(role=Role.admin))
        session.add(admin)
        session.commit()
        if engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()
        return admin.id


def client_for(url: str, staff_id: int) -> FlaskClient:
    """A test client of a fresh app, logged in as `staff_id` (a server-side session)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        LINE_CHANNEL_SECRET=secrets.token_hex(16),
        LINE_CHANNEL_ACCESS_TOKEN=secrets.token_hex(16),
        SECRET_KEY=secrets.token_urlsafe(32),
        KAIRAN_PUBLIC_URL="https://kairan.bench.invalid",
        KAIRAN_DEMO=True,
        LINE_API_BASE_URL="http://127.0.0.1:9",
        DATABASE_URL=url,
        KAIRAN_LOG_LEVEL="ERROR",
    )
    app = create_app(settings)
    post_worker_init(None)
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    engine = tune(create_engine(url))
    with Session(engine) as session:
        token = logins.start_session(
            session, SystemClock(), staff_id, app.permanent_session_lifetime
        )
        session.commit()
    engine.dispose()
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = token
        cookie.permanent = True
    return client


def timed(client: FlaskClient, path: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}")
    return elapsed, response.get_data()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--url", help="The database to use (PostgreSQL: wiped first).")
    parser.add_argument("--associations", type=int, default=2266)
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    engine, url = fresh_engine(args.database, args.url)
    started = time.perf_counter()
    admin_id = populate(engine, args.associations, args.residents)
    with Session(engine) as session:
        district_id = session.scalars(select(District.id).order_by(District.code)).first()
        if district_id is None:
            raise SystemExit("no districts were imported")
        kana = session.scalars(select(Association.kana).order_by(Association.id)).first()
    engine.dispose()
    size = f"{args.associations:,} associations, {args.residents:,} residents"
    print(f"{args.database}: {size}; data generated in {time.perf_counter() - started:.1f} s")

    client = client_for(url, admin_id)
    figures: list[Figure] = []
    first, _ = timed(client, "/dashboard/associations")  # a fresh app: nothing compiled yet
    health = [timed(client, "/healthz")[0] for _ in range(args.repeat)]
    base = percentile(health, 0.95)
    figures.append(
        Figure(
            "reach_page",
            args.database,
            f"「自治会と到達率」 first request of a fresh app, {size}",
            first,
            "ms",
            base,
            "GET /healthz p95, same app and client",
            first / base,
            f"< {REACH_TARGET_MS} ms",
            first < REACH_TARGET_MS,
        )
    )
    query = (kana or "")[:4]
    pages = {
        "first page": "/dashboard/associations",
        "sorted by reach": "/dashboard/associations?sort=reach_desc",
        f"kana search 「{query}」": f"/dashboard/associations?q={query}",
        "one district, by reach, page 2": (
            f"/dashboard/associations?district={district_id}&sort=reach_asc&page=2"
        ),
    }
    for label, path in pages.items():
        timings = [timed(client, path)[0] for _ in range(args.repeat)]
        p95 = percentile(timings, 0.95)
        figures.append(
            Figure(
                "reach_page",
                args.database,
                f"「自治会と到達率」 {label} p95, {size}",
                p95,
                "ms",
                base,
                "GET /healthz p95, same app and client",
                p95 / base,
                f"p95 < {REACH_TARGET_MS} ms",
                p95 < REACH_TARGET_MS,
                f"n={len(timings)}, max {max(timings):.1f} ms",
            )
        )
    compose = [timed(client, "/dashboard/compose") for _ in range(args.repeat)]
    compose_bytes = len(compose[-1][1])
    figures.append(
        Figure(
            "reach_page",
            args.database,
            f"compose page HTML for the admin, {size}",
            compose_bytes / 1000,
            "KB",
            target=f"< {COMPOSE_TARGET_BYTES // 1000} KB",
            met=compose_bytes < COMPOSE_TARGET_BYTES,
            note=f"{compose_bytes:,} bytes",
        )
    )
    compose_p95 = percentile([t for t, _ in compose], 0.95)
    figures.append(
        Figure(
            "reach_page",
            args.database,
            f"compose page p95, {size}",
            compose_p95,
            "ms",
            base,
            "GET /healthz p95, same app and client",
            compose_p95 / base,
            note=f"n={len(compose)}",
        )
    )
    search = [timed(client, f"/dashboard/compose/targets?q={query}")[0] for _ in range(args.repeat)]
    search_p95 = percentile(search, 0.95)
    figures.append(
        Figure(
            "reach_page",
            args.database,
            f"target picker search 「{query}」 p95, {size}",
            search_p95,
            "ms",
            base,
            "GET /healthz p95, same app and client",
            search_p95 / base,
            note=f"n={len(search)}",
        )
    )
    for figure in figures:
        show(figure)
    write_figures(args.json, figures)
    if not all(f.met is not False for f in figures):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
