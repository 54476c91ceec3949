# Fangkong — two commands: `make demo` and `make test`. Both idempotent; a second run reuses what exists.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := src/fangkong/static/vendor
HOST ?= 127.0.0.1
PORT ?= 8000
PERSONS ?= 20000
# pytest-xdist workers for `make test` (the CI machine has 2 cores); TEST_WORKERS=0 runs in one process
TEST_WORKERS ?= 2

.PHONY: demo test setup assets serve lint clean

setup: $(VENV)/.stamp-install assets

$(VENV)/.stamp-install: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

assets: $(VENDOR)/.stamp

$(VENDOR)/.stamp: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp web/node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js
	cp web/node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	@touch $@

demo: setup
	$(BIN)/fangkong init --mode drill
	$(BIN)/fangkong demo --persons $(PERSONS) --if-empty
	$(BIN)/fangkong users demo
	$(BIN)/fangkong serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(VENDOR) web/node_modules .pytest_cache .ruff_cache
