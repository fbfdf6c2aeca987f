# Stepback: every target creates .venv when missing and installs the project into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install serve test fuzz-soak lint format bench coverage-report check clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) -m daphne -b $(HOST) -p $(PORT) workflows_app.asgi:application

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

bench: install
	$(PY) -m bench

coverage-report: install
	$(PY) tests/catalog_coverage.py

check: install
	$(PY) manage.py check --fail-level WARNING
