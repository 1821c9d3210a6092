# The two commands a user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres lint install migrate seed worker beat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

# The whole suite on SQLite, then again on PostgreSQL when one is reachable (TEST_DATABASE_URL,
# default the local server). QIPP_REQUIRE_SERVICES=1 turns a missing PostgreSQL or Redis into
# a failure instead of a skip: CI sets it.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/qipp
test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not postgres"
	$(BIN)/python tests/run_postgres.py $(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
