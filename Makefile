# Kairan — the two commands a newcomer needs are `make demo` and `make test`.
# `make help` lists every target.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
SOURCES := linebot_app models broadcasts migrations simulator tests bench

.DEFAULT_GOAL := help
.PHONY: help demo test lint format browser deploy-tools bench reliability clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	@touch $(VENV)/.installed $@

demo: $(VENV)/.installed ## Run Kairan offline: SQLite, sample areas, the web app; prints the URLs
	$(BIN)/kairan demo

lint: $(VENV)/.installed-dev ## ruff (lint and format check) and strict mypy
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy

format: $(VENV)/.installed-dev ## Fix what ruff can fix and format the code
	$(BIN)/ruff check --fix $(SOURCES)
	$(BIN)/ruff format $(SOURCES)

# Debian's Chromium and a Japanese font for the browser tests, installed when missing and
# possible; Playwright drives it, never downloading a browser of its own.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			echo "Installing Chromium and fonts-noto-cjk with apt-get"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null \
				|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; } \
				|| echo "Could not install Chromium: browser tests will skip (fail with CI=true)"; \
		else \
			echo "Chromium missing and apt-get unavailable: browser tests will skip (fail with CI=true)"; \
		fi; \
	fi

# docker-compose (v1, Debian's), Caddy and systemd-analyze check compose.yaml, deploy/Caddyfile
# and deploy/systemd (tests/unit/test_deployment.py), installed when missing and possible; their
# checks skip without them. No container engine is needed.
deploy-tools:
	@if ! command -v docker-compose >/dev/null || ! command -v caddy >/dev/null; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			echo "Installing docker-compose and caddy with apt-get (deployment file checks)"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose caddy >/dev/null \
				|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose caddy >/dev/null; } \
				|| echo "Could not install docker-compose/caddy: their checks will skip"; \
		fi; \
	fi

test: $(VENV)/.installed-dev browser deploy-tools lint ## Lint, then the whole suite (SQLite; PostgreSQL too with TEST_DATABASE_URL)
	$(BIN)/python -m pytest

# BENCH_ARGS picks benchmarks and sizes, e.g. make bench BENCH_ARGS='--quick' (about a minute or
# two) or BENCH_ARGS='--only fanout --sizes 100000'. Needs PostgreSQL on 127.0.0.1:5432.
bench: $(VENV)/.installed-dev ## Run the benchmarks in bench/ and write docs/BENCHMARKS.md
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The long reliability runs of docs/reliability.md (PostgreSQL on 127.0.0.1:5432; several minutes).
reliability: $(VENV)/.installed-dev ## Long fault runs: webhook storm with killed connections, delivery chaos
	$(BIN)/python bench/reliability.py
	$(BIN)/python bench/chaos.py --database postgresql
	$(BIN)/python bench/chaos.py --database sqlite --residents 20000 --rounds 40

clean: ## Remove the virtual environment and caches (keeps instance/, the demo's data)
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache tests/_output
