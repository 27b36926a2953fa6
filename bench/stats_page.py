"""Benchmark: the stats page of one circular sent to 100,000 residents.

45 districts, 500 associations (3 groups each), 100,000 residents; the circular is delivered to
all of them, 60% opened it and 40% confirmed it (half of those answered its question). The page
is rendered repeatedly through the Flask test client — as the city (admin) and as one
association's officer — and p50/p95 are printed. Nothing is invented: every figure is measured
on this machine when the script runs.

    python bench/stats_page.py --database sqlite
    python bench/stats_page.py --database postgresql [--url postgresql://…]   # wipes that DB

With `--json PATH` it also writes its figures for bench/run.py, each with a baseline measured
the same way in the same app: `GET /healthz` (the same Flask stack and one database round trip
for the schema check), so the ratio says how much the page costs over a trivial request.

Data is generated with bulk inserts (INSERT … SELECT for deliveries, opens and confirmations).
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, literal, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from linebot_app import create_app
from linebot_app.config import Settings
from linebot_app.schema import upgrade
from models import (
    Acknowledgement,
    AnswerOption,
    Association,
    Channel,
    Circular,
    CircularStatus,
    CircularTarget,
    Delivery,
    DeliveryStatus,
    District,
    Group,
    Open,
    Resident,
    Role,
    StaffMember,
    StaffRole,
)

DISTRICTS = 45
ASSOCIATIONS = 500
GROUPS_PER_ASSOCIATION = 3
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/kairan_bench"
RELEASED = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def fresh_engine(database: str, url: str | None) -> tuple[Engine, str]:
    if database == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="kairan-bench-")) / "bench.sqlite3"
        url = f"sqlite:///{path}"
    else:
        url = (url or DEFAULT_POSTGRES).replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    return engine, url


def populate(engine: Engine, residents: int) -> tuple[int, int, int]:
    """The city, its residents and one sent circular; returns (circular, admin, officer) ids."""
    with Session(engine) as session:
        session.execute(
            insert(District),
            [
                {"id": d, "code": f"D{d:02d}", "name": f"第{d}校区", "kana": f"こうく{d:02d}"}
                for d in range(1, DISTRICTS + 1)
            ],
        )
        session.execute(
            insert(Association),
            [
                {
                    "id": a,
                    "district_id": (a - 1) % DISTRICTS + 1,
                    "code": f"A{a:04d}",
                    "name": f"第{a}自治会",
                    "kana": f"じちかい{a:04d}",
                    "household_count": 250,
                    "paper_household_count": 40,
                }
                for a in range(1, ASSOCIATIONS + 1)
            ],
        )
        session.execute(
            insert(Group),
            [
                {
                    "id": (a - 1) * GROUPS_PER_ASSOCIATION + g,
                    "association_id": a,
                    "name": f"{g}班",
                    "position": g,
                }
                for a in range(1, ASSOCIATIONS + 1)
                for g in range(1, GROUPS_PER_ASSOCIATION + 1)
            ],
        )
        session.execute(
            insert(Resident),
            [
                {
                    "id": r,
                    "line_user_id": f"U{r:032x}",
                    "display_name": f"住民{r}",
                    "association_id": (r - 1) % ASSOCIATIONS + 1,
                    "group_id": ((r - 1) % ASSOCIATIONS) * GROUPS_PER_ASSOCIATION
                    + (r // ASSOCIATIONS) % GROUPS_PER_ASSOCIATION
                    + 1,
                    "registered_at": RELEASED,
                }
                for r in range(1, residents + 1)
            ],
        )
        admin = StaffMember(line_user_id="U" + "a" * 32, display_name="管理者")
        admin.roles.append(StaffRole(role=Role.admin))
        officer = StaffMember(line_user_id="U" + "b" * 32, display_name="役員")
        officer.roles.append(StaffRole(role=Role.officer, association_id=1))
        session.add_all([admin, officer])
        session.flush()
        circular = Circular(
            author_id=admin.id,
            title="防災訓練のお知らせ",
            body="本文",
            status=CircularStatus.sent,
            question="出席しますか",
            released_at=RELEASED,
            completed_at=RELEASED,
        )
        circular.targets = [CircularTarget(district_id=d) for d in range(1, DISTRICTS + 1)]
        circular.options = [
            AnswerOption(position=1, label="出席"),
            AnswerOption(position=2, label="欠席"),
        ]
        session.add(circular)
        session.flush()
        yes, no = (option.id for option in circular.options)
        cid = circular.id
        status = Delivery.__table__.c.status.type
        stamp = Delivery.__table__.c.created_at.type
        session.execute(
            insert(Delivery).from_select(
                ["circular_id", "resident_id", "status", "created_at", "sent_at"],
                select(
                    literal(cid),
                    Resident.id,
                    literal(DeliveryStatus.sent, status),
                    literal(RELEASED, stamp),
                    literal(RELEASED, stamp),
                ),
            )
        )
        session.execute(
            insert(Open).from_select(
                ["circular_id", "resident_id", "opened_at"],
                select(literal(cid), Resident.id, literal(RELEASED, stamp)).where(
                    Resident.id % 10 < 6
                ),
            )
        )
        session.commit()
        # Confirmations spread over 48 hours; half answer. Generated here, inserted in bulk.
        session.execute(
            insert(Acknowledgement),
            [
                {
                    "circular_id": cid,
                    "resident_id": r,
                    "confirmed_at": datetime.fromtimestamp(
                        RELEASED.timestamp() + (r * 7919) % (48 * 3600), UTC
                    ),
                    "channel": Channel.line,
                    "answer_option_id": (yes if r % 3 else no) if r % 20 < 4 else None,
                }
                for r in range(1, residents + 1)
                if r % 10 < 4
            ],
        )
        session.commit()
        if engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()
        return cid, admin.id, officer.id


def measure(
    url: str, circular_id: int, staff_id: int, repeat: int, path: str | None = None
) -> list[float]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        # Throwaway secrets: nothing here talks to LINE or outlives the run.
        LINE_CHANNEL_SECRET=secrets.token_hex(16),
        LINE_CHANNEL_ACCESS_TOKEN=secrets.token_hex(16),
        SECRET_KEY=secrets.token_urlsafe(32),
        KAIRAN_PUBLIC_URL="http://127.0.0.1",
        KAIRAN_DEMO=True,
        # Nothing listens there: the LINE statistics box shows "unavailable" at once.
        LINE_API_BASE_URL="http://127.0.0.1:9",
        DATABASE_URL=url,
        KAIRAN_LOG_LEVEL="ERROR",
    )
    app = create_app(settings)
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["staff_id"] = staff_id
        cookie["login_at"] = int(time.time())
    path = path or f"/dashboard/circulars/{circular_id}"
    response = client.get(path)  # warm-up: templates compiled, connections opened
    if response.status_code != 200:
        raise SystemExit(f"stats page answered {response.status_code}")
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"stats page answered {response.status_code}")
    return timings


def report(label: str, timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    p50 = statistics.median(ordered)
    print(
        f"{label:<28} n={len(ordered):<4} p50={p50:8.1f} ms"
        f"  p95={p95:8.1f} ms  max={ordered[-1]:8.1f} ms"
    )
    return {"n": len(ordered), "p50": p50, "p95": p95, "max": ordered[-1]}


def figures(
    database: str, residents: int, pages: dict[str, dict[str, float]], base: dict[str, float]
) -> list[dict[str, object]]:
    """The figures in bench/run.py's shape (see bench/_common.py, Figure)."""
    out: list[dict[str, object]] = []
    label = f"{residents // 1000}k" if residents >= 1000 else str(residents)
    for who, timings in pages.items():
        for stat in ("p50", "p95"):
            target = stat == "p95" and residents == 100_000
            out.append(
                {
                    "bench": "stats_page",
                    "database": database,
                    "name": f"stats page {stat}, {who}, {label} residents",
                    "value": timings[stat],
                    "unit": "ms",
                    "baseline": base[stat],
                    "baseline_name": f"GET /healthz {stat}, same app and client",
                    "ratio": timings[stat] / base[stat],
                    "target": "p95 < 150 ms at 100k" if target else None,
                    "met": timings[stat] < 150 if target else None,
                    "note": f"n={timings['n']:g}, max {timings['max']:.1f} ms",
                    "extra": {},
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--url", help=f"PostgreSQL URL (wiped!); default {DEFAULT_POSTGRES}")
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", type=Path, help="Also write the figures here (bench/run.py).")
    args = parser.parse_args()

    engine, url = fresh_engine(args.database, args.url)
    started = time.perf_counter()
    circular_id, admin_id, officer_id = populate(engine, args.residents)
    engine.dispose()
    print(
        f"{args.database}: {args.residents} residents, {DISTRICTS} districts, {ASSOCIATIONS}"
        f" associations; data generated in {time.perf_counter() - started:.1f} s"
    )
    pages = {
        "city (admin)": report(
            "stats page, city (admin)", measure(url, circular_id, admin_id, args.repeat)
        ),
        "one association": report(
            "stats page, one association", measure(url, circular_id, officer_id, args.repeat)
        ),
    }
    base = report(
        "baseline GET /healthz", measure(url, circular_id, admin_id, args.repeat, "/healthz")
    )
    if args.json:
        args.json.write_text(
            json.dumps(figures(args.database, args.residents, pages, base), ensure_ascii=False)
        )


if __name__ == "__main__":
    main()
