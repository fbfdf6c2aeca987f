# Stepback: every target creates .venv when missing and installs the project into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUM := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# What each target needs: serving the runtime only, tests and lint the dev tools too, the
# benchmark its peers (LangGraph) as well. A stamp per set, renewed when pyproject.toml changes.
SERVE_STAMP := $(VENV)/.installed-serve-$(SUM)
STAMP := $(VENV)/.installed-dev-$(SUM)
BENCH_STAMP := $(VENV)/.installed-bench-$(SUM)
# npm ci writes this file; it is newer than the lock file once the lock file is installed.
NODE_STAMP := frontend/node_modules/.package-lock.json
HOST ?= 127.0.0.1
PORT ?= 8000
# A burst of 500 clients: a listen backlog of 1024 (Twisted's default is 50, past which
# connections are refused) and 30 s for a websocket handshake (Daphne's default is 5 s).
DAPHNE_BACKLOG ?= 1024
DAPHNE_FLAGS ?= -e tcp:port=$(PORT):interface=$(HOST):backlog=$(DAPHNE_BACKLOG) --websocket_connect_timeout 30

.PHONY: install serve test fuzz-soak lint format bench coverage-report check clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(SERVE_STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	rm -f $(VENV)/.installed-serve-*
	touch $@

$(STAMP): $(SERVE_STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-dev-*
	touch $@

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	rm -f $(VENV)/.installed-bench-*
	touch $@

$(NODE_STAMP): frontend/package.json frontend/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "npm is not installed: the pages need Node.js 18+ and npm to install their"; \
	  echo "third-party JavaScript (frontend/package.json). Install them (Debian: apt-get"; \
	  echo "install nodejs npm) and run make again."; exit 1; }
	cd frontend && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

serve: $(SERVE_STAMP) $(NODE_STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --remember .demo-login
	@echo ""
	@echo "Stepback: http://$(HOST):$(PORT)/  (sign in as below; the API is at /api/)"
	@sed 's/^/  /' .demo-login
	@echo ""
	$(PY) -m daphne $(DAPHNE_FLAGS) workflows_app.asgi:application

test: install
	@bash scripts/test.sh

# The API fuzzed for a long while (about 12,000 generated calls, fresh randomness each time);
# FUZZ_EXAMPLES sets the cases per operation, the counts go to fuzz-report.json.
FUZZ_EXAMPLES ?= 600
fuzz-soak: install
	STEPBACK_FUZZ_SOAK=1 STEPBACK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) STEPBACK_FUZZ_REPORT=fuzz-report.json \
		$(PY) -m pytest -q -p no:cacheprovider tests/app/test_api_fuzz.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(BENCH_STAMP)
	$(PY) -m bench
	$(PY) -m bench.big_runs

coverage-report: install
	$(PY) tests/catalog_coverage.py

check: install
	$(PY) manage.py check --fail-level WARNING
