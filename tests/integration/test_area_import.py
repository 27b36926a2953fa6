from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linebot_app.cli import cli
from models import Association, District, Group
from tests.conftest import SAMPLE_AREAS


def counts(session: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(model))
        for model in (District, Association, Group)
    )


def run_import(app: Flask, path: Path) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(cli, ["import", "areas", str(path)])
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
