"""The storage contract runs against every storage `tests.storages` knows about."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engines.storage.base import Storage
from tests.storages import build_storage, storage_names, storage_param


@pytest.fixture(params=[storage_param(name) for name in sorted(storage_names())])
def fresh_storage(request: pytest.FixtureRequest) -> Storage:
    """A fresh, empty storage of each kind (built outside the event loop)."""
    return build_storage(request.param, request)


@pytest.fixture
async def storage(fresh_storage: Storage) -> AsyncIterator[Storage]:
    """A fresh, empty storage of each kind, closed afterwards when it can be."""
    yield fresh_storage
    close = getattr(fresh_storage, "aclose", None)
    if close is not None:
        await close()
