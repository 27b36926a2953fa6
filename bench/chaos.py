"""Long delivery chaos run (issue #9): workers SIGKILLed at random while LINE fails often and,
on PostgreSQL, the workers' database connections are killed under them; in the end every
targeted resident holds exactly one copy of the circular and nobody else holds any.

The fast variant is tests/e2e/test_delivery_chaos.py (5,000 residents, 20 kills). This one runs
at city scale for as long as asked:

1. `kairan simulator` (a subprocess, unlimited quota) gets `--residents` users who follow, plus
   `--outsiders` who are registered elsewhere; the database gets the residents (bench/fanout.py's
   set-up). One circular to the targeted association is released.
2. The simulator answers multicasts with 500 (`--error500`), 429 (`--error429`) or accepts and
   then drops the connection (`--accept-then-drop`, the worst case: LINE sent, Kairan never
   heard), at random.
3. `--workers` `kairan worker` processes (one on SQLite, which takes one writer) run; every
   0–`--max-pause` seconds one of them is SIGKILLed and replaced, `--rounds` times. On
   PostgreSQL a killer also runs `pg_terminate_backend` on every worker connection every
   `--kill-connections` seconds (0: never).
4. Then the faults stop, the workers finish, and the simulator's inbox census is checked: one
   copy per targeted resident, none for outsiders, and the dashboard's progress says the same.

    python bench/chaos.py --database postgresql [--residents 50000] [--rounds 60]
    python bench/chaos.py --database sqlite --residents 20000

Prints what happened and exits non-zero if exactly-once did not hold.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BIN,
    DEFAULT_POSTGRES,
    Processes,
    connection_killer,
    control,
    engine_for,
    environment,
    scratch_database,
    start_simulator,
    wait_for_log,
)
from bench.fanout import neighbour_association, populate, release_circular, wait_until_sent
from broadcasts.delivery import progress


class Workers:
    """`kairan worker` processes, started and SIGKILLed as the run says."""

    def __init__(self, processes: Processes, env: dict[str, str], logs: Path) -> None:
        self.processes = processes
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []
        self.started = 0
        self.killed = 0
        self.failed_starts = 0

    def start(self) -> None:
        """Like a process manager: a worker whose start-up check lost its connection to the
        killer exits (non-zero, one line) and is started again."""
        while True:
            self.started += 1
            name = f"worker-{self.started}"
            process = self.processes.start(name, [str(BIN / "kairan"), "worker"], self.env)
            try:
                wait_for_log(self.logs / f"{name}.log", b" started", process, 60)
            except RuntimeError:
                if process.poll() is None:
                    raise
                self.processes.running.remove(process)
                self.failed_starts += 1
                continue
            self.running.append(process)
            return

    def kill_one(self, rng: random.Random) -> None:
        process = rng.choice(self.running)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.running.remove(process)
        self.processes.running.remove(process)
        self.killed += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="Server URL, no database.")
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--outsiders", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=60, help="Workers SIGKILLed.")
    parser.add_argument("--max-pause", type=float, default=0.5, help="Seconds between kills.")
    parser.add_argument("--workers", type=int, help="At once (PostgreSQL 3; SQLite always 1).")
    parser.add_argument("--kill-connections", type=float, default=1.0, help="PostgreSQL only.")
    parser.add_argument("--error500", type=float, default=0.10)
    parser.add_argument("--error429", type=float, default=0.10)
    parser.add_argument("--accept-then-drop", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--logs", type=Path, help="Keep the processes' logs here.")
    args = parser.parse_args()
    concurrency = 1 if args.database == "sqlite" else (args.workers or 3)
    rng = random.Random(args.seed)  # noqa: S311 - picks moments, not secrets
    print(f"chaos seed {args.seed} (--seed to replay the same kills and faults)", flush=True)

    logs = args.logs or Path(tempfile.mkdtemp(prefix="kairan-chaos-"))
    logs.mkdir(parents=True, exist_ok=True)
    with (
        Processes(logs) as processes,
        scratch_database(args.database, "chaos", args.postgres) as url,
    ):
        env = environment()
        base, _simulator = start_simulator(processes, "simulator", rate_limits=False, env=env)
        targeted = control(base, "POST", "/users/bulk", {"count": args.residents})["userIds"]
        outsiders = control(base, "POST", "/users/bulk", {"count": args.outsiders})["userIds"]
        association_id, author_id = populate(url, targeted)
        neighbour_association(url, association_id, "F1B", outsiders)
        circular_id, _seconds, batches = release_circular(
            url, association_id, author_id, "防災訓練"
        )
        print(
            f"{args.residents} residents in {batches} batches; {concurrency} worker(s)", flush=True
        )
        control(
            base,
            "POST",
            "/faults",
            {
                "error500": args.error500,
                "error429": args.error429,
                "acceptThenDrop": args.accept_then_drop,
                "seed": args.seed,
                "paths": ["/v2/bot/message/multicast"],
            },
        )
        worker_env = {
            **env,
            "DATABASE_URL": url,
            "LINE_API_BASE_URL": base,
            # Dead workers' claims come back after 5 s instead of a minute.
            "KAIRAN_WORKER_STALE_SECONDS": "5",
        }
        workers = Workers(processes, worker_env, logs)
        stop, connection_kills = threading.Event(), []
        killer = None
        if args.database == "postgresql" and args.kill_connections > 0:
            killer = threading.Thread(
                target=connection_killer,
                args=(url, stop, args.kill_connections, connection_kills),
            )
            killer.start()
        started = time.monotonic()
        try:
            for _ in range(args.rounds):
                while len(workers.running) < concurrency:
                    workers.start()
                time.sleep(rng.uniform(0.0, args.max_pause))
                workers.kill_one(rng)
        finally:
            stop.set()
            if killer is not None:
                killer.join()
        control(base, "POST", "/faults", {})
        while len(workers.running) < concurrency:
            workers.start()
        wait_until_sent(url, circular_id, 600)
        elapsed = time.monotonic() - started

        counts = control(base, "GET", "/inbox-counts")["counts"]
        wrong = sum(1 for u in targeted if counts.get(u, 0) != 1)
        doubled = sum(1 for u in targeted if counts.get(u, 0) > 1)
        strays = sum(1 for u in outsiders if counts.get(u, 0))
        engine = engine_for(url)
        with Session(engine) as session:
            shown = progress(session, circular_id)
        engine.dispose()
        log = control(base, "GET", "/requests?path=/v2/bot/message/multicast")["requests"]
        answers: dict[int, int] = {}
        for entry in log:
            answers[entry["status"]] = answers.get(entry["status"], 0) + 1

    print(
        f"workers started {workers.started}, SIGKILLed {workers.killed},"
        f" exited at start-up (connection killed) {workers.failed_starts}"
    )
    if args.database == "postgresql":
        print(
            f"connections killed: {sum(connection_kills)} in {len(connection_kills)} rounds"
            f" every {args.kill_connections:g} s"
        )
    print(f"multicast answers (status: count): {dict(sorted(answers.items()))}")
    print(f"deliveries: {shown.deliveries}; circular {shown.status.value} after {elapsed:.1f} s")
    print(
        f"residents without exactly one copy: {wrong} (doubled {doubled}); outsiders hit: {strays}"
    )
    held = wrong == 0 and strays == 0 and shown.deliveries["sent"] == args.residents
    print(f"exactly once: {'yes' if held else 'NO'}")
    sys.exit(0 if held else 1)


if __name__ == "__main__":
    main()
