"""Benchmark: `kairan import areas` of a big city file — wall time and peak memory.

For each database and each size N (associations; about three 班 each on average):

1. `bench/make_sample_areas.py --associations N` writes the file (not timed).
2. Baseline: `kairan districts list` on the same empty database, as a subprocess — what any
   `kairan` command costs before it does anything (the interpreter, the app, the schema check).
3. `kairan import areas FILE` as a subprocess: wall time, and its peak RSS (`ru_maxrss` from
   wait4, the kernel's own high-water mark; it starts from the parent's RSS at fork, so this
   script never holds the file). Checks: it exits 0 and the database then holds
   exactly N associations.
4. The same file again (everything exists: the idempotent re-import), timed the same way; it
   must report no change.
5. The file with its last row broken: it must exit non-zero, name that line and leave the
   database as it was (all-or-nothing), timed the same way.

    python bench/area_import.py --databases sqlite,postgresql --sizes 300000 [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BIN,
    DEFAULT_POSTGRES,
    REPO,
    Figure,
    engine_for,
    environment,
    scratch_database,
    show,
    write_figures,
)
from models import Association

TARGET_SECONDS = 60.0
TARGET_MIB = 300.0
TARGET_SIZE = 300_000


def run_kairan(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, peak RSS in MiB, output) of one `kairan` subprocess."""
    started = time.monotonic()
    process = subprocess.Popen(
        [str(BIN / "kairan"), *argv],
        env=env,
        cwd=cwd,  # a directory without .env: settings come from `env` only
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None  # noqa: S101 - PIPE was asked for
    output = process.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, time.monotonic() - started, usage.ru_maxrss / 1024, output


def associations(url: str) -> int:
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(Association)) or 0)
    finally:
        engine.dispose()


def run_one(database: str, size: int, postgres: str, work: Path, logs: Path | None) -> list[Figure]:
    path = work / f"areas-{size}.csv"
    with path.open("wb") as output:
        subprocess.run(
            [
                sys.executable,
                str(REPO / "bench" / "make_sample_areas.py"),
                f"--associations={size}",
            ],
            stdout=output,
            check=True,
        )
    # Streamed, never read whole: a child's ru_maxrss starts from this process's RSS when it
    # forks, so this process must stay smaller than what it measures.
    with path.open("rb") as source:
        last = sum(1 for _ in source)  # the header is line 1
    broken = work / f"areas-{size}-broken.csv"
    with path.open("rb") as source, broken.open("wb") as output:
        for number, line in enumerate(source, start=1):
            if number == last:
                cells = line.split(b",")
                cells[6] = "たくさん".encode()
                line = b",".join(cells)
            output.write(line)

    figures: list[Figure] = []
    with scratch_database(database, "areas", postgres) as url:
        env = environment(DATABASE_URL=url, LINE_API_BASE_URL="http://127.0.0.1:9")
        code, base_seconds, base_mib, output = run_kairan(["districts", "list"], env, work)
        if code != 0:
            raise SystemExit(f"kairan districts list failed:\n{output}")
        code, seconds, mib, output = run_kairan(["import", "areas", str(path)], env, work)
        if code != 0 or associations(url) != size:
            raise SystemExit(f"import of {size} rows failed (exit {code}):\n{output[-2000:]}")
        again_code, again_seconds, again_mib, again = run_kairan(
            ["import", "areas", str(path)], env, work
        )
        if again_code != 0 or again.count("新規 0 / created, 更新 0 / updated") != 3:
            raise SystemExit(f"re-import of {size} rows changed something:\n{again[-2000:]}")
        bad_code, bad_seconds, bad_mib, bad = run_kairan(
            ["import", "areas", str(broken)], env, work
        )
        if bad_code == 0 or f"{last}行目" not in bad or associations(url) != size:
            raise SystemExit(f"the broken file was not refused whole:\n{bad[-2000:]}")

    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
        (logs / f"area_import-{database}-{size}.log").write_text(
            "\n".join([output, again, bad]), encoding="utf-8"
        )
    at_target = size >= TARGET_SIZE
    startup = f"`kairan districts list` on the empty database: {base_seconds:.2f} s"
    common = {"bench": "area_import", "database": database}
    figures.append(
        Figure(
            **common,
            name=f"import {size // 1000}k associations (new database), wall time",
            value=seconds,
            unit="s",
            baseline=base_seconds,
            baseline_name="`kairan districts list` (start-up and schema check)",
            ratio=seconds / base_seconds,
            target="< 60 s at 300k" if at_target else None,
            met=seconds < TARGET_SECONDS if at_target else None,
            note=f"{path.stat().st_size / 1e6:.0f} MB file; output: "
            + " / ".join(line for line in output.splitlines() if "新規" in line),
        )
    )
    figures.append(
        Figure(
            **common,
            name=f"import {size // 1000}k associations, peak RSS (ru_maxrss)",
            value=mib,
            unit="MiB",
            baseline=base_mib,
            baseline_name="`kairan districts list`'s peak RSS",
            ratio=mib / base_mib,
            target="< 300 MB at 300k" if at_target else None,
            met=mib * 1.048576 < TARGET_MIB if at_target else None,
        )
    )
    figures.append(
        Figure(
            **common,
            name=f"re-import {size // 1000}k associations, nothing changed, wall time",
            value=again_seconds,
            unit="s",
            baseline=base_seconds,
            baseline_name="`kairan districts list`",
            ratio=again_seconds / base_seconds,
            note=f"peak RSS {again_mib:.0f} MiB",
        )
    )
    figures.append(
        Figure(
            **common,
            name=f"refuse {size // 1000}k associations with the last row bad, wall time",
            value=bad_seconds,
            unit="s",
            baseline=base_seconds,
            baseline_name="`kairan districts list`",
            ratio=bad_seconds / base_seconds,
            note=f"peak RSS {bad_mib:.0f} MiB; database unchanged; {startup}",
        )
    )
    for figure in figures:
        show(figure)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="300000", help="Comma-separated association counts.")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="Server URL, no database.")
    parser.add_argument("--json", type=Path, help="Write the figures here (for bench/run.py).")
    parser.add_argument("--logs", type=Path, help="Keep each command's output here.")
    args = parser.parse_args()
    figures: list[Figure] = []
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kairan-areas-")))
        for database in args.databases.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                figures += run_one(database, size, args.postgres, work, args.logs)
                write_figures(args.json, figures)


if __name__ == "__main__":
    main()
