# servicedesk — build, run and check. Needs only python3 (3.11+) and make.
#
#   make install   create .venv and install the project with its dev tools
#   make run       migrate, seed demo data, start web + worker + beat (PORT=8000)
#   make test      pytest (ARGS="-k sla -x" to pass options)
#   make lint      ruff format --check, ruff check, mypy
#   make fmt       ruff format + ruff check --fix
#   make bench     run the benchmarks in bench/
#   make reliability  SLA sweep under SIGKILLed workers and a Redis outage (PostgreSQL;
#                  DATABASE_URL names the server, ARGS="--deadlines 5000" to pass options)
#   make clean     remove var/ and .venv
#
# Recipes call .venv/bin/... directly: nothing needs activating.

PYTHON ?= python3
PORT ?= 8000
ARGS ?=

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# honcho and the Procfile find python and celery in the virtualenv first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help install run test lint fmt bench reliability clean

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

install: $(STAMP)

# Reinstall whenever pyproject.toml changes; a failed install leaves no stamp.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "make install: '$(PYTHON)' not found; servicedesk needs Python 3.11 or newer." >&2; \
	  echo "Run 'make install PYTHON=python3.12' (or any python >= 3.11)." >&2; \
	  exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "make install: servicedesk needs Python 3.11 or newer;" \
	    "'$(PYTHON)' is $$($(PYTHON) --version 2>&1)." >&2; \
	  echo "Run 'make install PYTHON=python3.12' (or any python >= 3.11)." >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "servicedesk is starting at http://127.0.0.1:$(PORT)/  (Ctrl-C stops web, worker and beat)"
	@echo
	SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/honcho start -f Procfile -p $(PORT)

# Works with no environment (SQLite + filesystem broker under var/) and with
# DATABASE_URL / CELERY_BROKER_URL set (PostgreSQL + Redis): the settings decide.
test: install
	@$(BIN)/python -m pytest $(ARGS) || { rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5)." >&2; fi; \
	  exit $$rc; }

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/python manage.py makemigrations --check --dry-run

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	@if [ -f bench/__main__.py ]; then \
	  echo "$(BIN)/python -m bench $(ARGS)"; $(BIN)/python -m bench $(ARGS); \
	elif [ -f bench/run.py ]; then \
	  echo "$(BIN)/python bench/run.py $(ARGS)"; $(BIN)/python bench/run.py $(ARGS); \
	else \
	  echo "make bench: no benchmarks yet (expected bench/__main__.py or bench/run.py)." >&2; \
	  exit 1; \
	fi

# Real workers, beat and a Redis of its own on a free port, on its own PostgreSQL
# database (servicedesk_reliability, recreated): see scripts/reliability_sweep.py.
reliability: install
	$(BIN)/python scripts/reliability_sweep.py $(ARGS)

clean:
	rm -rf var $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
