# The two commands: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Django 6.1 needs Python 3.12 or newer. Honour PYTHON=..., else look for one:
# python3.13/3.12 on PATH, plain python3, then pyenv's installed versions.
PYTHON ?= $(shell \
	for c in python3.14 python3.13 python3.12 python3 $$(ls -d $$(pyenv root 2>/dev/null || echo ~/.pyenv)/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
		if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
			command -v $$c; break; \
		fi; \
	done)

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0

.PHONY: help run test venv lint format check-deploy clean load bench lock

help:
	@echo "make run    set up and serve the portal with demo data at http://127.0.0.1:8000"
	@echo "make test   run the whole test suite against PostgreSQL and Redis"
	@echo "make lint   ruff check + format check"
	@echo "make load   the load test (locust against gunicorn, about 8 minutes)"
	@echo "make bench  the performance benchmarks at a million customers"

$(STAMP): pyproject.toml requirements-dev.lock
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: Python 3.12 or newer is required (Django 6.1). Install it, or run with PYTHON=/path/to/python3.12." >&2; \
		exit 1; \
	fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

venv: $(STAMP)

# With no configuration: SQLite, console email, tasks in-process after commit.
# DATABASE_URL, CELERY_BROKER_URL and EMAIL_URL switch to real services.
run: $(STAMP)
	@export DEBUG=$${DEBUG:-true}; \
	$(BIN)/python manage.py migrate --no-input && \
	$(BIN)/python manage.py seed_demo && \
	echo "Serving at http://127.0.0.1:8000 (Ctrl-C to stop)" && \
	exec $(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	@export DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
		CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
		SECRET_KEY=$${SECRET_KEY:-insecure-test-key-only-for-the-test-suite-0123456789} \
		DEBUG=false ALLOWED_HOSTS=localhost,127.0.0.1,testserver; \
	$(BIN)/python manage.py preflight || exit 1; \
	if [ ! -d node_modules/axe-core ] || [ ! -d node_modules/vnu-jar ]; then \
		if ! command -v npm >/dev/null 2>&1; then \
			echo "error: npm is required for the accessibility tests (axe-core). Install Node.js 20+ and npm, then rerun make test." >&2; \
			exit 1; \
		fi; \
		npm ci --no-audit --no-fund || exit 1; \
	fi; \
	if ! command -v msgfmt >/dev/null 2>&1; then \
		echo "error: GNU gettext is required for the translation checks (apt-get install gettext, or brew install gettext)." >&2; \
		exit 1; \
	fi; \
	if [ -z "$$CHROMIUM" ]; then \
		if [ -x /usr/bin/chromium ]; then export CHROMIUM=/usr/bin/chromium; \
		else $(BIN)/python -m playwright install chromium || exit 1; fi; \
	fi; \
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && \
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null && \
	$(BIN)/lint-imports --no-cache && \
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# The load test of issue 7 (RELIABILITY.md §7), not part of `make test`: gunicorn, a Celery
# worker, PostgreSQL and Redis on loopback, locust headless; about 8 minutes. Knobs are
# listed in bench/load.py (LOAD_STEP_SECONDS=10 LOAD_DURATION=30s for a smoke run).
load: $(STAMP)
	@$(BIN)/python -c "import locust" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[load]"
	$(BIN)/python bench/load.py

# The performance budgets at a million customers (bench/bench.py): builds the data set once
# (about 8 minutes), then prints the figures as ratios. Not part of make test.
bench: $(STAMP)
	$(BIN)/python bench/bench.py

# Refresh the lock files after changing pyproject.toml's dependencies (both are committed;
# make installs requirements-dev.lock, the Docker image requirements.lock).
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements-dev.lock pyproject.toml

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 tests/e2e/artifacts node_modules
