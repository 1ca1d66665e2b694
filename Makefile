# The two commands of the README, and the ones around them.
# Every target sets up the virtual environment first, so a fresh clone needs nothing else.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
LOCK := requirements.lock

.PHONY: install lock upgrade demo serve test test-slow lint schema bench bench-all bench-load bench-documents example xapi-conformance clean

# The exact versions of requirements.lock (no resolving: --no-deps), then the project itself;
# `pip check` fails when the lock misses a dependency or no longer fits pyproject's ranges.
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

## requirements.lock: every dependency of lms-graph and of its test extras at one exact
## version, for Python 3.11 on Linux. `make lock` after editing pyproject's dependencies keeps
## every pin that still fits; `make upgrade` moves every pin to the newest release allowed.
## uv, not pip-compile: it resolves for the stated target (--python-version, --python-platform)
## whatever interpreter or machine runs it, and it is fast. It runs from a throwaway virtual
## environment, so the project's own stays exactly the lock. uv leaves out index URLs and
## find-links by default (this machine's would mean nothing elsewhere); the flags say so.
UV_VERSION := 0.13.8
LOCK_EXTRAS := --extra test --extra testing
define compile_lock
	dir="$$(mktemp -d)" && trap 'rm -rf "$$dir"' EXIT \
		&& $(PYTHON) -m venv "$$dir" \
		&& "$$dir/bin/python" -m pip install --quiet 'uv==$(UV_VERSION)' \
		&& "$$dir/bin/uv" pip compile --quiet pyproject.toml $(LOCK_EXTRAS) \
			--python-version 3.11 --python-platform linux \
			--no-emit-index-url --no-emit-find-links \
			--custom-compile-command 'make lock' --output-file $(LOCK) $(1)
endef

lock:
	$(call compile_lock,)

upgrade:
	$(call compile_lock,--upgrade)

## Serve a seeded demo on SQLite at http://127.0.0.1:8000/graphql (prints an admin token);
## e.g. make demo PORT=8080, or HOST=0.0.0.0 to be reached from other machines (given on the
## command line: a PORT or HOST in the environment is not used).
HOST = 127.0.0.1
PORT = 8000
demo: install
	$(BIN)/lms-graph demo --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/lms-graph serve

## The whole test suite on SQLite and PostgreSQL, then ruff and mypy, then the example plugin.
test: install
	$(BIN)/pytest
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory example

## The long fuzz, state-machine and load runs (marked `slow`; the default run skips them).
test-slow: install
	$(BIN)/pytest -m slow

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

## Regenerate the committed SDL (a test fails while it is stale).
schema: install
	$(BIN)/lms-graph schema > schema.graphql

## The partner plugin of examples/ in a virtual environment of its own, next to lms-graph
## installed from this checkout: its tests, its type check, and `lms-graph schema` showing it.
EXAMPLE := examples/partner-course-type
EXAMPLE_VENV := $(EXAMPLE)/.venv
EXAMPLE_BIN := $(abspath $(EXAMPLE_VENV))/bin
EXAMPLE_STAMP := $(EXAMPLE_VENV)/.install-stamp

# Third-party packages at the versions of requirements.lock, as a constraint: only those the
# two packages declare, so a dependency the example forgets to declare still fails its tests.
# check_lock.py fails when one was installed off the lock (a dependency the lock lacks).
$(EXAMPLE_STAMP): $(LOCK) pyproject.toml $(EXAMPLE)/pyproject.toml
	rm -rf $(EXAMPLE_VENV)
	$(PYTHON) -m venv $(EXAMPLE_VENV)
	$(EXAMPLE_BIN)/python -m pip install --quiet --upgrade pip
	$(EXAMPLE_BIN)/python -m pip install --quiet -c $(LOCK) . './$(EXAMPLE)[test]'
	$(EXAMPLE_BIN)/python scripts/check_lock.py $(LOCK) --own lms-graph lms-attendance
	touch $(EXAMPLE_STAMP)

example: $(EXAMPLE_STAMP)
	# Both as they ship (built, not editable), from the current code of this checkout.
	$(EXAMPLE_BIN)/python -m pip install --quiet --no-deps --force-reinstall . ./$(EXAMPLE)
	# Its PostgreSQL tests on the server `make test` uses, unless LMS_TEST_POSTGRES_URL says otherwise.
	cd $(EXAMPLE) && LMS_TEST_POSTGRES_URL="$${LMS_TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test}" \
		$(EXAMPLE_BIN)/pytest
	cd $(EXAMPLE) && $(EXAMPLE_BIN)/mypy
	# Installed, the plugin loads without any setting: the service's schema shows it.
	dir="$$(mktemp -d)" && trap 'rm -rf "$$dir"' EXIT && cd "$$dir" \
		&& $(EXAMPLE_BIN)/lms-graph schema > schema.graphql \
		&& grep -q 'attendanceProof: AttendanceProof' schema.graphql \
		&& grep -q 'submitAttendanceProof(enrollmentId: ID!, proofUrl: String!): AttendanceProof!' schema.graphql \
		&& echo "lms-graph schema shows Enrollment.attendanceProof and Mutation.submitAttendanceProof"

## The dashboard query beside PostGraphile 5 on PostgreSQL (docs/performance.md); options:
## make bench BENCH_ARGS="--rounds 5 --seconds 10". bench-all adds mass actions and imports.
bench: install
	$(BIN)/python -m bench dashboard $(BENCH_ARGS)

bench-all: install
	$(BIN)/python -m bench all

## Mixed traffic (learners writing, admins reading and running mass actions) at 50 and 200
## clients on SQLite and PostgreSQL; e.g. make bench-load BENCH_ARGS="--backend sqlite".
bench-load: install
	$(BIN)/python -m bench load $(BENCH_ARGS)

## What hostile GraphQL documents cost (server CPU ms each, docs/security.md#document-cost);
## e.g. make bench-documents BENCH_ARGS="--production --runs 9".
bench-documents: install
	$(BIN)/python -m bench documents $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
	rm -rf $(EXAMPLE_VENV) $(EXAMPLE)/build $(EXAMPLE)/*.egg-info

## ADL's xAPI 1.0.3 LRS conformance suite against `lms-graph serve` on a throwaway database
## (needs Node.js and npm; slow). XAPI_DB=postgresql uses the local PostgreSQL server;
## e.g. make xapi-conformance XAPI_ARGS="--verbose" or XAPI_ARGS="-- -g Statement".
XAPI_SUITE ?= ../shared/vendor/lrs-conformance-test-suite
XAPI_DB ?= sqlite
xapi-conformance: install
	$(BIN)/python scripts/xapi_conformance.py --suite $(XAPI_SUITE) --db $(XAPI_DB) $(XAPI_ARGS)
