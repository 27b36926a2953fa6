"""The chaos tests' world: simulated residents and circulars released to them in a database of
the test's own, and `kairan worker` processes started and killed as a test says."""

from __future__ import annotations

import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from broadcasts.circulars.release import release
from broadcasts.core.clock import SystemClock
from broadcasts.delivery.line import remaining_quota
from linebot_app import create_app
from linebot_app.extensions import db, line
from models import Association, Circular, CircularTarget, District, Resident, StaffMember
from simulator.testing import RunningSimulator
from tests.helpers.settings import make_settings
from tests.helpers.waiting import PATIENCE, wait_until

OUTSIDERS = 50  # residents of the same district the circulars are not for


def prepare(
    url: str, simulator: RunningSimulator, residents: int, circulars: int = 1
) -> tuple[list[int], list[str], list[str]]:
    """Residents (who are simulated LINE users), `circulars` circulars to some of them, released
    (at once from as many threads on PostgreSQL)."""
    targeted = simulator.client.create_users(residents)
    outsiders = simulator.client.create_users(OUTSIDERS)
    app = create_app(make_settings(DATABASE_URL=url, LINE_API_BASE_URL=simulator.base_url))
    with app.app_context():
        session = db.session
        district = District(code="C1", name="混沌校区", kana="こんとんこうく")
        inside = Association(district=district, code="C1A", name="内町内会", kana="うち")
        outside = Association(district=district, code="C1B", name="外町内会", kana="そと")
        author = StaffMember(line_user_id="U" + "c" * 32)
        session.add_all([district, inside, outside, author])
        session.flush()
        registered = datetime(2026, 11, 1, tzinfo=UTC)
        session.execute(
            insert(Resident),
            [
                {"line_user_id": u, "association_id": inside.id, "registered_at": registered}
                for u in targeted
            ]
            + [
                {"line_user_id": u, "association_id": outside.id, "registered_at": registered}
                for u in outsiders
            ],
        )
        drafts = [
            Circular(
                author=author,
                title=f"防災訓練のお知らせ {n + 1}",
                body="12月7日（日）9時に公園へ。",
                targets=[CircularTarget(association=inside)],
            )
            for n in range(circulars)
        ]
        session.add_all(drafts)
        session.commit()
        circular_ids = [circular.id for circular in drafts]
        concurrent = url.startswith("postgresql")
        session.close()

    def release_one(circular_id: int) -> None:
        with app.app_context():
            circular = db.session.get_one(Circular, circular_id)
            result = release(db.session, SystemClock(), circular, remaining_quota(line()))
            assert result.released, result.reason
            assert result.batches == -(-residents // 500)
            db.session.commit()

    if concurrent:
        with ThreadPoolExecutor(max_workers=circulars) as pool:
            list(pool.map(release_one, circular_ids))
    else:  # SQLite takes one writer at a time: releasing at once would only queue
        for circular_id in circular_ids:
            release_one(circular_id)
    with app.app_context():
        db.engine.dispose()
    return circular_ids, targeted, outsiders


class Workers:
    """`kairan worker` processes, started and killed as the test says."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []
        self.started = 0

    def start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = self.logs / f"worker-{self.started}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                ["kairan", "worker"], env=self.env, stdout=output, stderr=subprocess.STDOUT
            )
        self.running.append(process)
        wait_until(
            lambda: b" started" in log.read_bytes() or process.poll() is not None,
            "the worker to start",
        )
        assert process.poll() is None, log.read_text(encoding="utf-8")
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.running.remove(process)

    def stop_all(self) -> list[int]:
        """SIGTERM, as a deployment would: each finishes its batch and exits 0."""
        codes = []
        for process in list(self.running):
            process.send_signal(signal.SIGTERM)
            codes.append(process.wait(timeout=PATIENCE))
            self.running.remove(process)
        return codes
