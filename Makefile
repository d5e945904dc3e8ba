# monban — two commands: `make serve` and `make test`.
# The interpreter for .venv: the distribution's /usr/bin/python3 when it is 3.11 or newer and can make
# a venv (Debian's and Ubuntu's are built with PGO and LTO and a static libpython: monban answers
# about 13% more requests a second on Debian 12's than on a default pyenv build), else python3 on
# PATH. `make clean` and `make PYTHON=...` choose another.
SYSTEM_PYTHON := $(shell /usr/bin/python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' \
  2>/dev/null && echo /usr/bin/python3)
PYTHON ?= $(or $(SYSTEM_PYTHON),python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 4747
DATA_DIR ?= $(CURDIR)/.monban-data
ARGS ?=  # more options for `monban serve`, e.g. make serve ARGS="--min-session-seconds 1"

.PHONY: serve test lint typecheck bench clean

RUN_STAMP := $(VENV)/.installed-run

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

NODE_STAMP := tests/js/node_modules/.installed
$(NODE_STAMP): tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

serve: $(RUN_STAMP)  ## set up and run monban with the quickstart bootstrap file (same data dir whatever ARGS)
	$(BIN)/monban serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) --config examples/quickstart.yaml $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck $(NODE_STAMP)  ## set up and run every test
	$(BIN)/pytest tests/policy --cov=monban.policy --cov-branch --cov-report=term-missing:skip-covered --cov-fail-under=100 -p no:cacheprovider
	$(BIN)/pytest tests --ignore=tests/policy -n 2 -p no:cacheprovider
	@if [ -n "$$MONBAN_TEST_POSTGRES_URL" ]; then \
	  echo "e2e tests again on PostgreSQL"; \
	  $(BIN)/pytest tests/e2e --backend postgres -n 2 -p no:cacheprovider; \
	else echo "MONBAN_TEST_POSTGRES_URL is not set: e2e tests ran on SQLite only"; fi

bench: $(BENCH_STAMP)  ## benchmarks, as ratios to peers measured in the same run
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
