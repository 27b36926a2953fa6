"""Run every benchmark under bench/ and write docs/BENCHMARKS.md (`make bench`).

Each benchmark runs as a subprocess of its own (its memory, its GIL) and hands back its figures
as JSON; this driver adds the machine, the date and the command, and writes the report. The
hand-written section between `<!-- findings -->` and `<!-- /findings -->` of the existing report
is kept, so analysis survives a re-run (and must then be checked against the new figures); when
a run replaces the figures a finding explains, the finding moves to docs/benchmark-history.md.

    python bench/run.py                       # everything, full sizes (10k, 100k, 300k fan-out)
    python bench/run.py --quick               # about a minute or two: small sizes, short runs
    python bench/run.py --only fanout --sizes 100000 --databases postgresql
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench._common import DEFAULT_POSTGRES, REPO, scratch_database
from models.session import normalise_database_url

BENCHES = ("fanout", "webhook", "stats_page", "reach_page", "area_import", "startup")
REPORT = REPO / "docs" / "BENCHMARKS.md"
FINDINGS = ("<!-- findings -->", "<!-- /findings -->")


def machine(postgres: str, databases: list[str]) -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    os_name = platform.platform()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))}, Linux {platform.release()}"
    server = "not used"
    if "postgresql" in databases:
        engine = create_engine(normalise_database_url(f"{postgres}/postgres"), poolclass=NullPool)
        with engine.connect() as connection:
            server = str(connection.execute(text("SHOW server_version")).scalar_one())
        engine.dispose()
    return {
        "CPU": f"{cpu} × {os.cpu_count()} (logical CPUs)",
        "Memory": memory,
        "OS": os_name,
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "SQLite (library)": sqlite3.sqlite_version,
        "PostgreSQL server": f"{server} (127.0.0.1:5432, same machine)",
    }


def run_bench(argv: list[str], log: Path) -> tuple[int, float]:
    """Run one benchmark script; its output goes to the terminal and to `log`."""
    started = time.monotonic()
    with log.open("ab") as output:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None  # noqa: S101 - PIPE was asked for
        for line in process.stdout:
            sys.stdout.buffer.write(line)
            sys.stdout.flush()
            output.write(line)
        code = process.wait()
    return code, time.monotonic() - started


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text_value = f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{text_value} {unit}".strip()


def table(figures: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| database | figure | measured | baseline (same run) | ratio | notes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        base = (
            f"{fmt(f['baseline'], f['unit'])} — {f['baseline_name']}" if f["baseline_name"] else "—"
        )
        if f["baseline_name"] and f["baseline_name"].startswith("rate-limit bound"):
            base = f"{fmt(f['baseline'], 's')} — {f['baseline_name']} (not machine-dependent)"
        notes = f["note"]
        if f["target"]:
            verdict = "met" if f["met"] else "**missed**"
            notes = f"target {f['target']}: {verdict}. {notes}".strip()
        lines.append(
            f"| {f['database']} | {f['name']} | {fmt(f['value'], f['unit'])} | {base}"
            f" | {fmt(f['ratio'])} | {notes} |"
        )
    return lines


def _find(figures: dict[str, list[dict[str, Any]]], bench: str, database: str, name: str) -> Any:
    return next(
        (f for f in figures.get(bench, []) if f["database"] == database and f["name"] == name),
        None,
    )


def headroom(figures: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Issue #22's goals, each row met or missed, from this run's figures (— when not run)."""
    rows: list[tuple[str, str, str, float | None, bool | None]] = []
    for database in ("sqlite", "postgresql"):
        full = next(
            (
                f
                for f in figures.get("webhook", [])
                if f["database"] == database
                and f["name"].startswith("events/s, full speed")
                and "against" not in f["name"]
            ),
            None,
        )
        ratio = full["ratio"] if full else None
        rows.append(
            (
                "webhook events/s at full speed / signature-only baseline",
                database,
                "≥ 0.60",
                ratio,
                None if ratio is None else ratio >= 0.6,
            )
        )
        cpu = _find(figures, "webhook", database, "workers' CPU per event, full speed")
        ratio = cpu["ratio"] if cpu else None
        rows.append(
            (
                "webhook CPU per event / durable baseline",
                database,
                "≤ 1.5×",
                ratio,
                None if ratio is None else ratio <= 1.5,
            )
        )
        loaded = next(
            (
                f
                for f in figures.get("webhook", [])
                if f["database"] == database and f["name"].startswith("p99 latency, loaded")
            ),
            None,
        )
        rows.append(
            (
                "webhook p99 at 200 events/s beside a CPU burner (ms)",
                database,
                "< 200 ms",
                loaded["value"] if loaded else None,
                loaded["met"] if loaded else None,
            )
        )
        worker = _find(figures, "fanout", database, "worker CPU per batch 100k, no rate limits")
        ratio = worker["ratio"] if worker else None
        rows.append(
            (
                "worker CPU per 500-recipient batch / bare urllib3 multicast loop",
                database,
                "≤ 5×",
                ratio,
                None if ratio is None else ratio <= 5,
            )
        )
        if database == "sqlite":
            per_second = 1000 / worker["value"] if worker else None
            rows.append(
                (
                    "batches/s one SQLite worker's CPU allows (LINE: 200 multicasts/s)",
                    database,
                    "≥ 200/s",
                    per_second,
                    None if per_second is None else per_second >= 200,
                )
            )
        snapshot = _find(
            figures, "fanout", database, "snapshot 100k, circular 1 (release() + commit)"
        )
        ratio = snapshot["ratio"] if snapshot else None
        rows.append(
            (
                "snapshot (release + commit) / INSERT … SELECT, 100k",
                database,
                "≤ 8×",
                ratio,
                None if ratio is None else ratio <= 8,
            )
        )
        large = _find(figures, "fanout", database, "snapshot 300k, circular 1 (release() + commit)")
        growth = large["value"] / snapshot["value"] if large and snapshot else None
        rows.append(
            (
                "snapshot growth 100k → 300k",
                database,
                "≤ 3.3× (linear)",
                growth,
                None if growth is None else growth <= 3.3,
            )
        )
    lines = [
        "| goal (same-run ratio) | database | goal | measured | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, database, goal, value, met in rows:
        verdict = "—" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {name} | {database} | {goal} | {fmt(value)} | {verdict} |")
    return lines


def findings() -> str:
    if REPORT.exists():
        text_ = REPORT.read_text(encoding="utf-8")
        if FINDINGS[0] in text_ and FINDINGS[1] in text_:
            return text_[text_.index(FINDINGS[0]) : text_.index(FINDINGS[1]) + len(FINDINGS[1])]
    return f"{FINDINGS[0]}\n_No findings written yet._\n{FINDINGS[1]}"


METHOD = """\
## How each figure is measured

- **Fan-out** (`bench/fanout.py`). `kairan simulator --quota -1 --no-rate-limits` runs as a
  subprocess; `POST /_sim/users/bulk` creates N users who already follow, and the residents
  are inserted with executemany (10,000 rows a statement). On PostgreSQL `ANALYZE` runs after
  the bulk insert (autovacuum would have done it long before a real release). Circular 1 is
  sent with no rate limits; then LINE's default limits are switched on in the same simulator
  (`POST /_sim/rate-limits {"enabled": true}`: multicast 200 requests/s) and circular 2 goes to
  the same residents. *Snapshot* is `release()` plus its commit (quota look-up excluded: it is a
  network call made before). *Delivery* runs from the first batch claim (the batches'
  `first_attempt_at`) to the circular's `completed_at`, both written by the worker when it did
  them (the driver's 50 ms poll for `sent` is not counted); ONE `kairan worker` subprocess does
  all of it, after a warm-up circular of 8 batches to 4,000 residents of a neighbouring
  association (outside the census), so that its first-send costs are paid as a worker that runs
  for months has paid them; the warm-up's time is in the note. The note gives release-commit →
  sent as well, which includes the idle worker's 1 s poll (`IDLE_WAIT`). The checks: the
  multicasts the simulator accepted for the circular's retry keys are exactly ceil(N/500), and
  after circular k every resident's inbox holds exactly k messages (`GET /_sim/inbox-counts`);
  the run stops with an error otherwise. *Peak RSS* is the worker's VmHWM from
  `/proc/<pid>/status`, read just before SIGTERM.
  - Baselines: snapshot ÷ the time of `INSERT INTO scratch SELECT … FROM residents` (N rows,
    a table without indexes or constraints, committed) on the same database; unlimited
    delivery ÷ the time a bare urllib3 loop takes to send the same number of multicasts of the
    same body (500 ids, the same card) to the same simulator, to ids that are not users (200,
    nothing delivered) — what the simulator costs without Kairan; rate-limited delivery ÷ the
    bound the limit sets (calls ÷ 200/s; the target); RSS ÷ the same worker's VmHWM while idle
    before the release (what importing the app costs).
  - *Worker CPU per batch*: the worker's user + system CPU (`/proc/<pid>/stat`) from just
    before the release to the circular seen `sent`, ÷ the batches; its baseline is the bare
    urllib3 loop's own CPU per multicast. The note gives the simulator's CPU per multicast over
    the same span: on this benchmark both share the machine's cores with PostgreSQL.
- **Webhook** (`bench/webhook.py`). gunicorn runs the Procfile's web line
  (`--config python:linebot_app.gunicorn_conf 'linebot_app:create_app()'`) and, with the same
  config and `WEB_CONCURRENCY`, the baseline `bench/baseline_app.py` (HMAC signature check,
  200). Each webhook carries one postback `ack:<circular>` from a different resident who holds a
  delivery of it; bodies are built and signed before timing. A fixed rate (due times
  i ÷ rate, 8 client threads, latency counted from the due time) and full speed (4 threads,
  one keep-alive `http.client` connection each, reopened when gunicorn closes it). Latency
  per request with `time.perf_counter`; p99 is nearest-rank. Kairan's reply goes to
  `kairan simulator --no-rate-limits` (LINE_API_BASE_URL); the made-up reply tokens are refused
  by it (400) after the round trip, which Kairan logs and ignores — so each event costs one
  real reply call. The run fails unless every answer is 200 and every event left exactly one
  acknowledgement. 40 warm-up events per app are not counted.
  - A second baseline, `bench/durable_baseline_app.py`, gets the same events under the same
    gunicorn: line-bot-sdk's `WebhookParser` (signature and parse, as Kairan), then each
    event's id claimed in the same database (`INSERT … ON CONFLICT DO NOTHING` into a table of
    its own) and committed — the least any webhook must do before its 200 if no answered event
    may be lost or applied twice. The rows "against the durable baseline" compare Kairan with
    that ceiling; the target stays the ratio to the signature-only baseline. The run fails
    unless it claimed every event once.
  - The full-speed events/s rows note the CPU time (user + system, `/proc/<pid>/stat`) that the
    app's gunicorn workers and the simulator used during that run, per event; "workers' CPU per
    event" is Kairan's against the durable baseline's.
  - Loaded (`--loaded`): Kairan gets the fixed rate once more, with new events, while a Python
    loop pinned to the first core (`os.sched_setaffinity`) keeps it busy.
- **Headroom goals (issue #22)**: each goal row of the issue, taken from this run's figures
  (`headroom` in bench/run.py); "—" where the figure was not run. Where the CPU goes is
  `python bench/profiling.py` (per webhook event, per worker batch, the snapshot; cProfile).
- **Stats page** (`bench/stats_page.py`): for each size (10,000, 100,000 and 300,000
  residents; 45 districts, 500 associations of 3 班, two paper households per 班, a fifth of
  the residents in two-person households; 60% opened, 40% confirmed), fresh data, then the page
  of one circular sent to everyone (`/dashboard/circulars/<id>`) and its CSV export
  (`…/stats.csv`) through the Flask test client, as the city and as one association's
  officer; p50/p95 over `--repeat` requests after one warm-up. Baseline: `GET /healthz`
  measured the same way in the same app (the Flask stack plus one database round trip).
  *Growth* is p95 at one size over p95 at the size before, given against the residents'
  growth (the ratio column: ≤ 1 is no faster than linear).
- **Reach page and compose page** (`bench/reach_page.py`, issue #20): a city of 2,266
  associations (`bench/make_sample_areas.py --associations 2266`, loaded by the area import, 班
  included) and 300,000 LINE residents (a tenth in two-person households), as the city's admin
  through the Flask test client: 「自治会と到達率」 (`/dashboard/associations`) on the first
  request of a fresh app, then p95 over `--repeat` requests of its first page, sorted by reach,
  a kana search and one district's second page (target < 1 s); the compose page's HTML size
  (target < 150 KB) and time, and the target picker's search fragment. Baseline: `GET /healthz`
  in the same app.
- **Area import** (`bench/area_import.py`): `bench/make_sample_areas.py --associations N`
  writes a city of N associations in 45 districts (about three 班 each on average); on a new,
  migrated database `kairan import areas FILE` runs as a subprocess, timed from spawn to exit,
  and its peak RSS is the kernel's `ru_maxrss` (wait4). Then the same file again (must report
  no change), then the file with its last row broken (must exit non-zero naming that line and
  leave the N associations as they were). Baseline: `kairan districts list` on the same empty
  database, measured the same way: what any command pays before it works.
- **Start-up** (`bench/startup.py`, run first, before the others load the machine): the CPU
  (user + system) of `kairan --help` and of `kairan districts list` on an empty, migrated
  SQLite database, each a subprocess run to its end and measured as the growth of the
  driver's `getrusage(RUSAGE_CHILDREN)`; baseline `python -c "import flask, sqlalchemy,
  click"` (the least a Flask + SQLAlchemy command line costs), the three interleaved, 9 runs
  each, medians; the ratio is the target (≤ 3×). Then, per database, against a migrated,
  empty database and `kairan simulator`, web (the Procfile's gunicorn line,
  WEB_CONCURRENCY=2), worker and clock are each started 3 times and timed from spawn to
  ready: the first `GET /healthz` 200 (polled every 0.1 s), the worker's "worker … started"
  line, APScheduler's "Scheduler started" (the logs polled every 0.02 s); medians. The
  baseline runs once before each round of the three (spawn to exit, wall and CPU), and their
  ratios are to the median of those runs. Target under 2 s on an idle machine: the load
  average at each start is in the note.
- Every figure here was measured in the run described at the top; nothing is rounded up or
  carried over from another run. p50 is the median; p95 in the stats page is its own
  nearest-index rule (see the script).
"""


def write_report(
    info: dict[str, str],
    command: str,
    started: datetime,
    finished: datetime | None,
    figures: dict[str, list[dict[str, Any]]],
    ran: list[str],
    not_run: list[str],
) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run.py` (`make bench`). Figures depend on the machine: compare ratios"
        " to the baselines (measured in the same run) rather than raw times across machines.",
        "This page holds the current figures only; past passes, with what each changed, are in"
        " [benchmark-history.md](benchmark-history.md).",
        "",
        f"- Run started: {started:%Y-%m-%d %H:%M} UTC"
        + (f", finished {finished:%H:%M} UTC" if finished else " (still running or interrupted)"),
        f"- Command: `{command}`",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in info.items()],
        "",
        "## What was run",
        "",
        *[f"- {item}" for item in ran],
        *([""] + ["Not run:", ""] + [f"- {item}" for item in not_run] if not_run else []),
        "",
        "## Targets (issues #9, #18 and #19)",
        "",
        "| benchmark | database | figure | target | measured | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for bench in BENCHES:
        for f in figures.get(bench, []):
            if f["target"]:
                lines.append(
                    f"| {bench} | {f['database']} | {f['name']} | {f['target']}"
                    f" | {fmt(f['value'], f['unit'])} | {'yes' if f['met'] else '**no**'} |"
                )
    titles = {
        "fanout": "Fan-out",
        "webhook": "Webhook",
        "stats_page": "Stats page",
        "reach_page": "Reach page and compose page (2,266 associations)",
        "area_import": "Area import",
        "startup": "Start-up",
    }
    lines += ["", "## Headroom goals (issue #22)", "", *headroom(figures)]
    for bench in BENCHES:
        if figures.get(bench):
            lines += ["", f"## {titles[bench]}", "", *table(figures[bench])]
    lines += ["", "## Findings", "", findings(), "", METHOD]
    REPORT.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes, short runs.")
    parser.add_argument("--only", help=f"Comma-separated subset of {', '.join(BENCHES)}.")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--sizes", help="Fan-out resident counts (default 10000,100000,300000).")
    parser.add_argument(
        "--stats-sizes", help="Stats page resident counts (default 10000,100000,300000)."
    )
    parser.add_argument("--area-sizes", help="Area import association counts (default 300000).")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="Server URL, no database.")
    parser.add_argument("--output", type=Path, help="Report (default docs/BENCHMARKS.md).")
    parser.add_argument("--logs", type=Path, help="Keep the processes' logs here.")
    args = parser.parse_args()
    global REPORT  # one report per run; --output moves it
    REPORT = args.output or REPORT

    # Fan-out last: its 300k run is the longest, and a run cut short keeps the others.
    only = (
        args.only.split(",")
        if args.only
        else ["startup", "webhook", "stats_page", "reach_page", "area_import", "fanout"]
    )
    unknown = set(only) - set(BENCHES)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    databases = args.databases.split(",")
    sizes = args.sizes or ("10000" if args.quick else "10000,100000,300000")
    stats_sizes = args.stats_sizes or ("10000" if args.quick else "10000,100000,300000")
    area_sizes = args.area_sizes or ("30000" if args.quick else "300000")
    python = sys.executable
    here = Path(__file__).resolve().parent
    plans: dict[str, tuple[list[str], str]] = {
        "fanout": (
            [python, str(here / "fanout.py"), "--databases", args.databases, "--sizes", sizes],
            f"fan-out: {sizes} residents on {args.databases}, no rate limits and rate-limited",
        ),
        "webhook": (
            [python, str(here / "webhook.py"), "--databases", args.databases, "--loaded"]
            + (["--seconds", "3", "--events", "600"] if args.quick else []),
            "webhook: "
            + (
                "200 events/s for 3 s, 600 at full speed"
                if args.quick
                else "200 events/s for 10 s, 3,000 at full speed"
            )
            + ", then 200 events/s again beside a CPU burner on one core"
            + f", WEB_CONCURRENCY=2, on {args.databases}",
        ),
        "stats_page": (
            [python, str(here / "stats_page.py"), "--sizes", stats_sizes]
            + (["--repeat", "10"] if args.quick else []),
            f"stats page and CSV export: {stats_sizes} residents"
            + (", 10 requests" if args.quick else ", 30 requests")
            + f" on {args.databases}",
        ),
        "reach_page": (
            [python, str(here / "reach_page.py")]
            + (["--residents", "30000", "--repeat", "3"] if args.quick else []),
            "reach page and compose page: 2,266 associations, "
            + ("30,000 residents, 3 requests" if args.quick else "300,000 residents, 10 requests")
            + f" on {args.databases}",
        ),
        "area_import": (
            [
                python,
                str(here / "area_import.py"),
                "--databases",
                args.databases,
                "--sizes",
                area_sizes,
            ],
            f"area import: {area_sizes} associations on {args.databases}"
            " (new, again unchanged, refused for a bad last row)",
        ),
        "startup": (
            [python, str(here / "startup.py"), "--databases", args.databases]
            + (["--repeat", "5", "--ready-repeat", "1"] if args.quick else []),
            "start-up: CPU of `kairan --help` and `kairan districts list`"
            + (" (5 runs each)" if args.quick else " (9 runs each)")
            + f", web, worker and clock spawn → ready on {args.databases}"
            + (" (1 start each)" if args.quick else " (3 starts each)"),
        ),
    }
    command = shlex.join(["python", "bench/run.py", *sys.argv[1:]])
    started = datetime.now(UTC)
    info = machine(args.postgres, databases)
    figures: dict[str, list[dict[str, Any]]] = {}
    ran: list[str] = []
    not_run = [plans[b][1] for b in BENCHES if b not in only]
    failed = False
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kairan-bench-")))
        logs = args.logs or work
        logs.mkdir(parents=True, exist_ok=True)
        for bench in only:
            argv, description = plans[bench]
            out = work / f"{bench}.json"
            if bench in ("stats_page", "reach_page"):
                results: list[dict[str, Any]] = []
                ok = True
                for database in databases:
                    one = work / f"{bench}-{database}.json"
                    with scratch_database(database, bench, args.postgres) as url:
                        extra = ["--database", database]
                        if database == "postgresql":
                            extra += ["--url", url]  # its own database, never kairan_bench
                        code, _ = run_bench([*argv, *extra, "--json", str(one)], logs / "run.log")
                    ok = ok and code == 0
                    if one.exists():
                        results += json.loads(one.read_text())
                out.write_text(json.dumps(results))
                code = 0 if ok else 1
            else:
                argv = [*argv, "--postgres", args.postgres, "--json", str(out), "--logs", str(logs)]
                code, _ = run_bench(argv, logs / "run.log")
            if out.exists():
                figures[bench] = json.loads(out.read_text())
            if code == 0:
                ran.append(description)
            else:
                failed = True
                ran.append(f"{description} — **failed (exit {code})**; figures above are partial")
            write_report(info, command, started, None, figures, ran, not_run)
    write_report(info, command, started, datetime.now(UTC), figures, ran, not_run)
    print(f"wrote {REPORT}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
