"""The conformance suite runs unchanged against every engine on every storage.

The storages come from `tests.storages` (the ones `engines` ships, plus Django's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from _pytest.mark import ParameterSet

from engines.core.engine import Engine
from engines.storage.base import Storage
from engines.testing import Calls, engine_builders
from tests.engine_choice import engine_names_under_test
from tests.storages import build_storage, storage_names, storage_param


def _combinations() -> list[ParameterSet]:
    return [storage_param(s, e) for e in engine_names_under_test() for s in storage_names(e)]


@pytest.fixture(params=_combinations())
def engine_and_storage(request: pytest.FixtureRequest) -> tuple[str, Storage]:
    """An engine name with a fresh storage of each kind (built outside the event loop)."""
    engine_name, storage_name = request.param
    return engine_name, build_storage(storage_name, request)


@pytest.fixture
async def engine(engine_and_storage: tuple[str, Storage]) -> AsyncIterator[Engine]:
    """A fresh engine of each kind, on a fresh storage of each kind."""
    engine_name, storage = engine_and_storage
    built = engine_builders()[engine_name](storage)
    yield built
    await built.aclose()


@pytest.fixture
def calls() -> Calls:
    """Counts how often each step ran."""
    return Calls()
