import gc
import tracemalloc
from pathlib import Path

from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from linebot_app.cli import cli
from models import Association, District, Group
from tests.helpers.settings import SAMPLE_AREAS


def counts(session: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(model))
        for model in (District, Association, Group)
    )


def run_import(app: Flask, path: Path) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(cli, ["import", "areas", str(path)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_importing_twice_gives_the_same_rows(app: Flask, session: Session) -> None:
    code, out, _ = run_import(app, SAMPLE_AREAS)
    assert code == 0
    first = counts(session)
    assert first[0] == 45 and 450 <= first[1] <= 550 and first[2] > 0
    assert "associations: 新規" in out
    code, out, _ = run_import(app, SAMPLE_AREAS)
    assert code == 0
    assert counts(session) == first
    assert "新規 0 / created, 更新 0 / updated" in out


def test_a_reimport_updates_what_changed(app: Flask, session: Session, tmp_path: Path) -> None:
    run_import(app, SAMPLE_AREAS)
    lines = SAMPLE_AREAS.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    cells[4], cells[6], cells[8] = "改名自治会", "321", "1班;2班"
    changed = tmp_path / "changed.csv"
    changed.write_text("\r\n".join([lines[0], ",".join(cells), *lines[2:]]), encoding="utf-8")
    before = counts(session)
    code, _, _ = run_import(app, changed)
    assert code == 0
    association = session.scalars(select(Association).where(Association.code == cells[3])).one()
    assert (association.name, association.household_count) == ("改名自治会", 321)
    assert [g.name for g in association.groups] == ["1班", "2班"]
    assert counts(session)[:2] == before[:2]


def test_a_file_with_one_bad_row_changes_nothing_and_names_the_line(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    lines = SAMPLE_AREAS.read_text(encoding="utf-8").splitlines()
    cells = lines[300].split(",")
    cells[6] = "たくさん"
    bad = tmp_path / "bad.csv"
    bad.write_text("\r\n".join([*lines[:300], ",".join(cells), *lines[301:]]), encoding="utf-8")
    code, _, err = run_import(app, bad)
    assert code != 0
    assert "301行目 / line 301" in err
    assert "households" in err
    assert "nothing was changed" in err
    assert counts(session) == (0, 0, 0)


def test_a_shift_jis_file_imports_the_same_as_its_utf8_twin(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    sjis = tmp_path / "areas-sjis.csv"
    sjis.write_bytes(SAMPLE_AREAS.read_text(encoding="utf-8").encode("cp932"))
    assert run_import(app, sjis)[0] == 0
    from_sjis = session.execute(select(Association.code, Association.name, Association.kana)).all()
    from_sjis_counts = counts(session)
    code, out, _ = run_import(app, SAMPLE_AREAS)
    assert code == 0
    assert "新規 0 / created, 更新 0 / updated" in out
    assert counts(session) == from_sjis_counts
    assert (
        session.execute(select(Association.code, Association.name, Association.kana)).all()
        == from_sjis
    )


def write_areas(path: Path, associations: int, *, bad_lines: tuple[int, ...] = ()) -> Path:
    """A made-up city of `associations` rows in 45 districts; each line in `bad_lines` (the file's
    own line numbers, the header being line 1) gets a household count that is not a number."""
    lines = [SAMPLE_AREAS.read_text(encoding="utf-8").splitlines()[0]]
    for n in range(1, associations + 1):
        district = n % 45 + 1
        households = "たくさん" if n + 1 in bad_lines else str(n % 500 + 20)
        groups = ";".join(f"{g}班" for g in range(1, n % 4 + 1))
        lines.append(
            f"D{district:02d},校区{district},こうく,A{n:06d},自治会{n},じちかい,"
            f"{households},{n % 20},{groups}"
        )
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def test_a_big_file_with_bad_rows_near_its_end_changes_nothing_and_names_each(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    bad = write_areas(tmp_path / "bad.csv", 3000, bad_lines=(2999, 3001))
    code, _, err = run_import(app, bad)
    assert code != 0
    assert "2999行目 / line 2999" in err and "3001行目 / line 3001" in err
    assert "nothing was changed" in err
    assert counts(session) == (0, 0, 0)


def test_a_big_file_imports_once_and_again_without_change(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    good = write_areas(tmp_path / "good.csv", 3000)
    code, out, _ = run_import(app, good)
    assert code == 0, out
    assert "associations: 新規 3000 / created" in out
    assert "groups: 新規 4500 / created" in out
    first = counts(session)
    assert first == (45, 3000, 4500)
    code, out, _ = run_import(app, good)
    assert code == 0
    assert counts(session) == first
    assert out.count("新規 0 / created, 更新 0 / updated") == 3


def peak_memory_of_import(app: Flask, path: Path) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        assert run_import(app, path)[0] == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_import_streams_its_file(app: Flask, session: Session, tmp_path: Path) -> None:
    """Memory must not follow the file's size. Holding the rows cost about 12 KB a row (the
    import before streaming: 5,500 more rows, about 66 MB more); streaming keeps the growth to
    garbage the collector has not reached yet. (The 300,000-row time and memory are measured by
    `make bench`, not here.)"""
    small = peak_memory_of_import(app, write_areas(tmp_path / "small.csv", 500))
    session.rollback()
    with session.begin():
        for model in (Group, Association, District):
            session.execute(delete(model))
    big = peak_memory_of_import(app, write_areas(tmp_path / "big.csv", 6000))
    assert big - small < 16 * 1024 * 1024, (small, big)


def test_progress_is_shown_without_garbling_a_log(app: Flask, tmp_path: Path) -> None:
    code, out, _ = run_import(app, write_areas(tmp_path / "areas.csv", 50))
    assert code == 0
    # Not a terminal (CI, a log file): the bar prints its label once and no control characters.
    assert out.count("取り込み中 / Importing") == 1
    assert "\r" not in out and "\x1b" not in out
