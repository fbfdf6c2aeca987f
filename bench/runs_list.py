"""Many runs for the runs list's bench, inserted with one SQL statement (no Python per row).

The runs are finished runs of five workflows and a hundred users, two seconds apart, with
every status; every thousandth run is a fork of the one before it. `QUERIES` are the runs
list's filters and orderings the bench asks for the first page of.
"""

from __future__ import annotations

import time

COLUMNS = (
    "run_id, workflow_id, definition_hash, engine, status, input, state, context, "
    "resource_id, parent_run_id, seq, step_counts, head, created_at, updated_at, started_at, "
    "finished_at"
)
_STATUS = (
    "CASE k %% 10 WHEN 7 THEN 'failed' WHEN 8 THEN 'suspended' WHEN 9 THEN 'running' "
    "ELSE 'success' END"
)
_SQLITE = f"""
WITH RECURSIVE c(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM c WHERE k < %s)
INSERT INTO workflows_app_run ({COLUMNS})
SELECT printf('bench-%%07d', k), 'workflow-' || (k %% 5), 'bench', 'default', {_STATUS},
  '{{}}', '{{}}', '{{}}', 'user-' || (k %% 100),
  CASE WHEN k %% 1000 = 1 THEN printf('bench-%%07d', k - 1) END, 2, '{{"success":1}}',
  '{{}}', datetime('2026-01-01', '+' || (2 * k) || ' seconds'),
  datetime('2026-01-01', '+' || (2 * k + 1) || ' seconds'),
  datetime('2026-01-01', '+' || (2 * k) || ' seconds'),
  CASE WHEN k %% 10 = 9 THEN NULL ELSE datetime('2026-01-01', '+' || (2 * k + 1) || ' seconds') END
FROM c
"""
_POSTGRES = f"""
INSERT INTO workflows_app_run ({COLUMNS})
SELECT 'bench-' || lpad(k::text, 7, '0'), 'workflow-' || (k %% 5), 'bench', 'default', {_STATUS},
  '{{}}', '{{}}', '{{}}', 'user-' || (k %% 100),
  CASE WHEN k %% 1000 = 1 THEN 'bench-' || lpad((k - 1)::text, 7, '0') END, 2,
  '{{"success":1}}', '{{}}', timestamptz '2026-01-01 00:00:00+00' + k * interval '2 seconds',
  timestamptz '2026-01-01 00:00:01+00' + k * interval '2 seconds',
  timestamptz '2026-01-01 00:00:00+00' + k * interval '2 seconds',
  CASE WHEN k %% 10 = 9 THEN NULL
       ELSE timestamptz '2026-01-01 00:00:01+00' + k * interval '2 seconds' END
FROM generate_series(0, %s) AS k
"""

QUERIES = (
    "",
    "workflow=workflow-3",
    "status=success",
    "status=failed,suspended",
    "status=running",
    "resource_id=user-42",
    "parent_run_id=bench-0000000",
    "created_after=2026-01-10T00:00:00Z",
    "created_before=2026-01-02T00:00:00Z",
    "created_after=2026-01-05T00:00:00Z&created_before=2026-01-06T00:00:00Z",
    "search=bench-00012",
    "workflow=workflow-3&status=failed&resource_id=user-7",
    "ordering=created_at",
    "ordering=status",
    "ordering=-status",
    "ordering=workflow_id",
    "ordering=-workflow_id",
    "ordering=finished_at",
    "ordering=-finished_at",
    "status=success&ordering=finished_at",
    "workflow=workflow-1&ordering=-finished_at",
)


def build(count: int) -> float:
    """Insert `count` runs (after deleting earlier ones of this bench); seconds it took."""
    from django.db import connection

    start = time.perf_counter()
    sql = _POSTGRES if connection.vendor == "postgresql" else _SQLITE
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM workflows_app_run WHERE definition_hash = 'bench'")
        cursor.execute(sql, [count - 1])
        cursor.execute("ANALYZE")  # plans for the new rows, as autovacuum would make them
    return time.perf_counter() - start
