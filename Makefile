# PIE developer commands. `make run` and `make test` need only Python 3.11+ and make.
.DEFAULT_GOAL := help
.PHONY: help requirements run serve test pytest quality format migrate upgrade \
        requirements-postgres requirements-mysql test-postgres test-mysql clean

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 18781
PYTEST_ARGS ?=

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

migrate: requirements ## apply migrations to the local SQLite database (or DATABASE_URL)
	$(BIN)/python manage.py migrate --noinput

run: migrate ## serve PIE on http://127.0.0.1:18781 with SQLite
	@echo ""
	@echo "PIE is starting on http://127.0.0.1:$(PORT)/  (API docs: /api-docs/, admin: /admin/)"
	@echo "Get a token for LMS user 42:   TOKEN=\$$($(BIN)/python manage.py create_dev_token 42)"
	@echo "Then:  curl -H \"Authorization: JWT \$$TOKEN\" http://127.0.0.1:$(PORT)/api/v1/program_intents/most_recent_and_certain/"
	@echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

pytest: requirements ## run the test suite only (SQLite unless DATABASE_URL is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

quality: requirements ## lint and format check (ruff)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: pytest quality ## the whole test suite on SQLite, then the quality checks

format: requirements ## reformat the code and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

upgrade: requirements ## recompile requirements/*.txt from the .in files (pip-tools)
	cd requirements && for name in base test dev postgres mysql production; do \
		../$(BIN)/pip-compile --quiet --upgrade --strip-extras --allow-unsafe \
			--no-emit-index-url --no-emit-find-links --output-file=$$name.txt $$name.in || exit 1; \
	done

clean: ## remove the virtualenv, caches and the local database
	rm -rf $(VENV) .pytest_cache .ruff_cache pie.sqlite3
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
