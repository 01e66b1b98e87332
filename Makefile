# PIE developer commands. `make run` and `make test` need only Python 3.11+ and make.
.DEFAULT_GOAL := help
.PHONY: help requirements run serve test pytest quality format migrate upgrade \
        requirements-postgres requirements-mysql requirements-kafka test-postgres test-mysql \
        tutor-check clean

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 18781
PYTEST_ARGS ?=
# `make test-postgres` / `make test-mysql` use DATABASE_URL when it names a database of their
# kind, else these. The suite runs in test_<name>, which Django's test runner creates.
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/pie
MYSQL_URL ?= mysql://root@127.0.0.1:3306/pie

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-22s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "PIE needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the pinned requirements change.
$(VENV)/.dev-installed: requirements/dev.txt requirements/test.txt requirements/base.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $@

requirements: $(VENV)/.dev-installed ## create .venv and install requirements/dev.txt

$(VENV)/.postgres-installed: requirements/postgres.txt $(VENV)/.dev-installed
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt -r requirements/postgres.txt
	touch $@

# mysqlclient is built from source: it needs a C compiler, the Python headers, pkg-config and
# the MySQL/MariaDB client headers.
$(VENV)/.mysql-installed: requirements/mysql.txt $(VENV)/.dev-installed
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt -r requirements/mysql.txt \
		|| { echo "mysqlclient did not build: install its build dependencies, e.g." \
			"apt-get install gcc python3-dev pkg-config default-libmysqlclient-dev (see README.rst)" \
			>&2; exit 1; }
	touch $@

# confluent-kafka's wheels carry librdkafka: nothing to build on Linux x86_64/aarch64.
$(VENV)/.kafka-installed: requirements/kafka.txt $(VENV)/.dev-installed
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt -r requirements/kafka.txt
	touch $@

requirements-postgres: $(VENV)/.postgres-installed ## add the PostgreSQL driver (psycopg 3) to .venv

requirements-kafka: $(VENV)/.kafka-installed ## add the Kafka event bus (edx-event-bus-kafka, confluent-kafka) to .venv

requirements-mysql: $(VENV)/.mysql-installed ## add the MySQL/MariaDB driver (mysqlclient) to .venv

migrate: requirements ## apply migrations to the local SQLite database (or DATABASE_URL)
	$(BIN)/python manage.py migrate --noinput

run: migrate ## serve PIE on http://127.0.0.1:18781 with SQLite
	@echo ""
	@echo "PIE is starting on http://127.0.0.1:$(PORT)/  (API docs: /api-docs/, admin: /admin/)"
	@echo "Get a token for LMS user 42:   TOKEN=\$$($(BIN)/python manage.py create_dev_token 42)"
	@echo "Then:  curl -H \"Authorization: JWT \$$TOKEN\" http://127.0.0.1:$(PORT)/api/v1/program_intents/most_recent_and_certain/"
	@echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

serve: migrate ## serve PIE with gunicorn on :18781 as production does (DEBUG off, local settings)
	DJANGO_SETTINGS_MODULE=pie.settings.local DEBUG=false GUNICORN_BIND=127.0.0.1:$(PORT) \
		exec $(BIN)/gunicorn --config gunicorn.conf.py pie.wsgi:application

pytest: requirements ## run the test suite only (SQLite unless DATABASE_URL is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

quality: requirements ## lint and format check (ruff)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# SQLite even when DATABASE_URL is exported for `make run`: the README promises no server.
test: override DATABASE_URL =
test: pytest quality ## the whole test suite on SQLite, then the quality checks

# Django's test runner creates the test database (test_<name>, pie/settings/base.py) on the
# server and drops it afterwards: <name> itself need not exist.
test-postgres: DATABASE_URL := $(or $(filter postgres://% postgresql://% pgsql://%,$(DATABASE_URL)),$(POSTGRES_URL))
test-postgres: requirements-postgres ## the whole test suite on PostgreSQL (DATABASE_URL=postgres://...)
	$(if $(filter postgres://% postgresql://% pgsql://%,$(DATABASE_URL)),,$(error test-postgres: DATABASE_URL must be a postgres:// URL))
	@echo "pytest on PostgreSQL: $(lastword $(subst @, ,$(DATABASE_URL)))"
	@DATABASE_URL='$(DATABASE_URL)' $(BIN)/python -m pytest $(PYTEST_ARGS)

test-mysql: DATABASE_URL := $(or $(filter mysql://%,$(DATABASE_URL)),$(MYSQL_URL))
test-mysql: requirements-mysql ## the whole test suite on MariaDB/MySQL (DATABASE_URL=mysql://...)
	$(if $(filter mysql://%,$(DATABASE_URL)),,$(error test-mysql: DATABASE_URL must be a mysql:// URL))
	@echo "pytest on MariaDB/MySQL: $(lastword $(subst @, ,$(DATABASE_URL)))"
	@DATABASE_URL='$(DATABASE_URL)' $(BIN)/python -m pytest $(PYTEST_ARGS)

# The Tutor plugin (tutor-contrib-pie/) is checked in its own virtualenv, with the pinned Tutor
# release of tutor-contrib-pie/requirements/check.txt; PIE's .venv runs manage.py check on what
# Tutor renders. No Docker engine is needed (docs/tutor.rst says what is checked).
TUTOR_VENV := .venv-tutor
$(TUTOR_VENV)/.check-installed: tutor-contrib-pie/requirements/check.txt
	$(PYTHON) -m venv $(TUTOR_VENV)
	$(TUTOR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TUTOR_VENV)/bin/python -m pip install --quiet -r tutor-contrib-pie/requirements/check.txt
	touch $@

tutor-check: requirements $(TUTOR_VENV)/.check-installed ## render PIE's Tutor plugin with the pinned Tutor and check the result
	$(TUTOR_VENV)/bin/python -m pip install --quiet --no-deps --force-reinstall ./tutor-contrib-pie
	cd tutor-contrib-pie && PIE_PYTHON=$(CURDIR)/$(BIN)/python ../$(TUTOR_VENV)/bin/python -m pytest $(PYTEST_ARGS)

format: requirements ## reformat the code and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

upgrade: requirements ## recompile requirements/*.txt from the .in files (pip-tools)
	cd requirements && for name in base test dev postgres mysql production kafka; do \
		../$(BIN)/pip-compile --quiet --upgrade --strip-extras --allow-unsafe \
			--no-emit-index-url --no-emit-find-links --output-file=$$name.txt $$name.in || exit 1; \
	done

clean: ## remove the virtualenv, caches and the local database
	rm -rf $(VENV) $(TUTOR_VENV) .pytest_cache .ruff_cache pie.sqlite3
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
