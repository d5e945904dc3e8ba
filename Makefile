# monban — two commands: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 4747
DATA_DIR ?= $(CURDIR)/.monban-data

.PHONY: serve test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

NODE_STAMP := tests/js/node_modules/.installed
$(NODE_STAMP): tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

serve: $(STAMP)  ## set up and run monban with the quickstart bootstrap file
	$(BIN)/monban serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) --config examples/quickstart.yaml

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck $(NODE_STAMP)  ## set up and run every test
	$(BIN)/pytest tests/policy --cov=monban.policy --cov-branch --cov-report=term-missing:skip-covered --cov-fail-under=100 -p no:cacheprovider
	$(BIN)/pytest tests --ignore=tests/policy -n 2 -p no:cacheprovider

bench: $(STAMP)  ## benchmarks, as ratios to peers measured in the same run
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
