#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it. Prints the configurations it ran.
#
# Pass 1 always runs: SQLite, the in-memory channel layer, every storage.
# Pass 2 runs when PostgreSQL and Redis answer: the Django layer, the storage contract and the
# conformance suite again, on PostgreSQL with the Redis channel layer.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG_URL=${STEPBACK_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stepback}
REDIS=${STEPBACK_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
# The suite picks its own configurations; a developer's environment must not leak in.
unset DATABASE_URL REDIS_URL STEPBACK_TEST_STORAGES STEPBACK_TEST_ENGINES STEPBACK_TEST_EVENTED_STORAGES \
  STEPBACK_WORKFLOWS STEPBACK_EXECUTOR

services_up() {
  "$PY" - "$PG_URL" "$REDIS" <<'PYEOF'
import sys
from urllib.parse import urlsplit, urlunsplit
import psycopg
import redis
try:
    # The server's own maintenance database: the test database may not exist yet.
    url = urlunsplit(urlsplit(sys.argv[1])._replace(path="/postgres"))
    psycopg.connect(url, connect_timeout=3).close()
    redis.Redis.from_url(sys.argv[2], socket_connect_timeout=3).ping()
except Exception as exc:
    print(f"   (not reachable: {exc})")
    sys.exit(1)
PYEOF
}

# The browser tests drive Debian's Chromium; a fresh machine gets it here (never a download of
# Playwright's own browsers).
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Chromium for the browser tests (apt-get)"
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
BROWSER=$(/usr/bin/chromium --version 2>/dev/null | head -n 1 | cut -d' ' -f1,2 || echo "Chromium")

# The evented-redis engine (conformance, differential and fault tests) uses this Redis.
export STEPBACK_TEST_REDIS_URL=$REDIS

echo "== Stepback test suite"
"$PY" -c 'from engines.testing import engine_builders; print("engines:  " + ", ".join(engine_builders()))'
# Each engine the conformance suite runs in this pass, with its storages.
engines_run() { "$PY" -m tests.engine_choice; }

echo "== lint: ruff + mypy + Django system checks"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
"$PY" manage.py check --fail-level WARNING
"$PY" manage.py makemigrations --check --dry-run >/dev/null

echo "== pass 1: SQLite + in-memory channel layer; storages memory, memory-json, django"
echo "   conformance: $(engines_run)"
echo "   layers: engines (conformance, storage contract, unit), Django app (API, pages, consumers), e2e (Daphne), browser (Playwright + $BROWSER), load (100 runs at once, two servers)"
"$PY" -m pytest -q -p no:cacheprovider "$@"

echo "== pass 2: PostgreSQL + Redis channel layer; storage django"
if services_up; then
  echo "   layers: conformance + storage contract on PostgreSQL, Django app, e2e (Daphne + Redis), browser (Playwright + $BROWSER, Redis layer), load (100 runs at once)"
  # durable-sqlite ran in pass 1; here the durable engine runs on a PostgreSQL system database,
  # and evented-redis on the django storage (evented-memory adds no transport to that).
  export STEPBACK_TEST_ENGINES=-durable-sqlite,-evented-memory STEPBACK_TEST_EVENTED_STORAGES=django
  echo "   conformance: $(STEPBACK_TEST_STORAGES=django engines_run)"
  DATABASE_URL=$PG_URL REDIS_URL=$REDIS STEPBACK_TEST_STORAGES=django \
    "$PY" -m pytest -q -p no:cacheprovider tests/conformance tests/storage tests/app tests/e2e tests/load "$@"
else
  echo "   skipped: PostgreSQL or Redis is not reachable (.ci/run starts them)"
fi

echo "== conformance catalog coverage"
"$PY" tests/catalog_coverage.py
