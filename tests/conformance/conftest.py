"""The conformance suite runs unchanged against every engine on every storage.

Later layers add their storages through `pytest_stepback_storages` in their own conftest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engines.core.engine import Engine
from engines.testing import Calls, engine_builders, storage_factories


def _combinations() -> list[tuple[str, str]]:
    return [(e, s) for e in engine_builders() for s in storage_factories()]


@pytest.fixture(params=_combinations(), ids=lambda p: f"{p[0]}-{p[1]}")
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[Engine]:
    """A fresh engine of each kind, on a fresh storage of each kind."""
    engine_name, storage_name = request.param
    built = engine_builders()[engine_name](storage_factories()[storage_name]())
    yield built
    await built.aclose()


@pytest.fixture
def calls() -> Calls:
    """Counts how often each step ran."""
    return Calls()
