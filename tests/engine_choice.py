"""The engines the conformance suite runs against, by name.

Every engine of `engines.testing.engine_builders()` except `durable-postgres`, which needs
PostgreSQL: the PostgreSQL pass of `scripts/test.sh` asks for it. `STEPBACK_TEST_ENGINES` (a
comma list) keeps only the named engines, or, when every name starts with `-`, every engine but
those (`-durable-sqlite`: the PostgreSQL pass runs `durable-postgres` instead).
"""

from __future__ import annotations

import os

import pytest

from engines.testing import engine_builders

ENV = "STEPBACK_TEST_ENGINES"
NEEDS_POSTGRES = ("durable-postgres",)


def engine_names_under_test() -> list[str]:
    """The engine names to test (see the module docstring)."""
    known = list(engine_builders())
    wanted = [name.strip() for name in os.environ.get(ENV, "").split(",") if name.strip()]
    if not wanted:
        return [name for name in known if name not in NEEDS_POSTGRES]
    excluded = [name[1:] for name in wanted if name.startswith("-")]
    named = excluded or wanted
    unknown = [name for name in named if name not in known]
    if unknown:
        raise pytest.UsageError(
            f"{ENV} names unknown engine(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    if excluded:
        return [name for name in known if name not in excluded]
    return [name for name in known if name in wanted]


def describe() -> str:
    """Each engine under test with the storages its conformance cases run on (what
    `scripts/test.sh` prints for a pass)."""
    from tests.storages import storage_names

    return "; ".join(
        f"{name} on {', '.join(storage_names(name))}"
        for name in engine_names_under_test()
        if storage_names(name)
    )


if __name__ == "__main__":
    print(describe())
