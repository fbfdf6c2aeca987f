"""A run as it was at any seq, from its snapshot rows, without replaying its events.

The rows to fold are the last full row at or before the seq, then per level (highest first)
the rows that passed each multiple of `cache.LEVEL_BASE ** level` since, then the plain rows after
the last of those (see `workflows_app.models.Snapshot`): at most `LEVEL_BASE - 1` rows per
level, however long the run. Two to five queries, whatever the run's length.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from workflows_app import snapshots
from workflows_app.models import Snapshot, row_key
from workflows_app.storage import cache

Row = tuple[int, bool, dict[str, Any]]


def _decoded(value: Any) -> dict[str, Any]:
    decoded: dict[str, Any] = snapshots.loads(value) if isinstance(value, (str, bytes)) else value
    return decoded


class _Reader:
    """Snapshot rows of one run, read with raw SQL (the rows are found by key ranges)."""

    def __init__(self, number: int, using: str) -> None:
        self.number = number
        self.connection = connections[using]
        quote = self.connection.ops.quote_name
        self.table = quote(Snapshot._meta.db_table)
        self.columns = f"{quote('seq')}, {quote('full')}, {quote('data')}"
        self.id = quote("id")

    def query(self, sql: str, params: list[Any]) -> list[Row]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [(seq, bool(full), _decoded(data)) for seq, full, data in cursor.fetchall()]

    def last(self, seq: int) -> tuple[int, int] | None:
        """(seq, base) of the last row at or before `seq`."""
        quote = self.connection.ops.quote_name
        sql = (
            f"SELECT {quote('seq')}, {quote('base')} FROM {self.table} "
            f"WHERE {self.id} >= %s AND {self.id} <= %s ORDER BY {self.id} DESC LIMIT 1"
        )
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [row_key(self.number, 0), row_key(self.number, seq)])
            found = cursor.fetchone()
        return None if found is None else (int(found[0]), int(found[1]))

    def first_after(self, bounds: list[int], upto: int) -> list[Row]:
        """For each bound, the first row at or after it (up to seq `upto`), in seq order,
        each row once."""
        high = row_key(self.number, upto)
        firsts = " UNION ALL ".join(
            [f"SELECT MIN({self.id}) FROM {self.table} WHERE {self.id} BETWEEN %s AND %s"]
            * len(bounds)
        )
        params: list[Any] = []
        for bound in bounds:
            params += [row_key(self.number, bound), high]
        return self.query(
            f"SELECT {self.columns} FROM {self.table} WHERE {self.id} IN ({firsts}) "
            f"ORDER BY {self.id}",
            params,
        )

    def between(self, after: int, upto: int) -> list[Row]:
        """The rows with `after <= seq <= upto`, in seq order."""
        return self.query(
            f"SELECT {self.columns} FROM {self.table} WHERE {self.id} BETWEEN %s AND %s "
            f"ORDER BY {self.id}",
            [row_key(self.number, after), row_key(self.number, upto)],
        )


def rows_at(number: int, seq: int, using: str) -> list[Row]:
    """The snapshot rows whose fold is the run numbered `number` at `seq` (empty when nothing
    was stored that early)."""
    reader = _Reader(number, using)
    last = reader.last(seq)
    if last is None:
        return []
    upto, base = last
    rows = reader.between(base, base)
    if not rows or not rows[0][1] or rows[0][2].get("v") != 2:
        # Rows written before levels existed (format 1): fold everything after the last full
        # row, as they were written.
        return _legacy_rows(reader, upto)
    position = base
    for level in range(cache.LEVELS, 0, -1):
        span = cache.LEVEL_BASE**level
        first = (position // span + 1) * span
        bounds = list(range(first, upto + 1, span))
        if not bounds:
            continue
        found = reader.first_after(bounds, upto)
        found = [row for row in found if row[0] > position]
        if found:
            rows.extend(found)
            position = found[-1][0]
    if position < upto:
        rows.extend(reader.between(position + 1, upto))
    return rows


def _legacy_rows(reader: _Reader, upto: int) -> list[Row]:
    rows = reader.between(0, upto)
    starts = [index for index, row in enumerate(rows) if row[1]]
    return rows[starts[-1] :] if starts else []


def fold_at(number: int | None, seq: int, using: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The head and ordered step records (JSON) of the run numbered `number` at `seq`;
    `LookupError` when nothing was stored at or before `seq`."""
    folded = snapshots.fold(rows_at(number, seq, using)) if number is not None else None
    if folded is None:
        raise LookupError(f"no snapshot at or before seq {seq}")
    return folded
