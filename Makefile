# The two commands of the README, and the ones around them.
# Every target sets up the virtual environment first, so a fresh clone needs nothing else.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp

.PHONY: install demo serve test test-sqlite lint schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Serve a seeded demo on SQLite at http://127.0.0.1:8000/graphql (prints an admin token).
demo: install
	$(BIN)/lms-graph demo

serve: install
	$(BIN)/lms-graph serve

## The whole test suite on SQLite and PostgreSQL, then ruff and mypy.
test: install
	$(BIN)/pytest
	$(MAKE) --no-print-directory lint

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

## Regenerate the committed SDL (a test fails while it is stale).
schema: install
	$(BIN)/lms-graph schema > schema.graphql

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
