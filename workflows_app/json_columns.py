"""`JSONText`: a JSON value kept as its compact text in a plain text column.

Django's `JSONField` makes SQLite check every value with `JSON_VALID` and PostgreSQL parse it
into `jsonb`, at every write of the columns a step boundary writes (event payloads, snapshot
rows, step records, the run's head). Nothing queries inside those values, so they are stored
as the text the storage already encoded, and read back by decoding it.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import expressions

from workflows_app import snapshots


class JSONText(models.JSONField):
    """A `JSONField` stored in a text column (no database-side JSON parsing or checking)."""

    def get_internal_type(self) -> str:
        return "TextField"

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        return models.TextField().db_type(connection)

    def db_check(self, connection: BaseDatabaseWrapper) -> str | None:
        return None

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        if value is None or isinstance(value, expressions.Expression):
            return value
        return snapshots.dumps(value)

    def get_db_prep_save(self, value: Any, connection: BaseDatabaseWrapper) -> Any:
        if isinstance(value, expressions.Value):
            value = value.value  # `Value(None)`: JSON null, not SQL NULL
            return snapshots.dumps(value)
        return self.get_db_prep_value(value, connection)

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        if value is None or not isinstance(value, (str, bytes)):
            return value
        return snapshots.loads(value)
