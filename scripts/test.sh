#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it. Prints the configurations it ran.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

echo "== Stepback test suite"
"$PY" - <<'PYEOF'
from engines.testing import engine_builders, storage_factories
print("engines:  " + ", ".join(engine_builders()))
print("storages: " + ", ".join(storage_factories()))
PYEOF
echo "layers:   engines (conformance, storage contract, unit), Django app, lint"

echo "== lint: ruff + mypy"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
"$PY" manage.py check

echo "== pytest"
"$PY" -m pytest -q -p no:cacheprovider "$@"

echo "== conformance catalog coverage"
"$PY" tests/catalog_coverage.py
