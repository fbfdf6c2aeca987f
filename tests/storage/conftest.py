"""The storage contract runs against every storage `engines.testing` knows about."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engines.storage.base import Storage
from engines.testing import storage_factories


@pytest.fixture(params=sorted(storage_factories()))
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """A fresh, empty storage of each kind."""
    built = storage_factories()[request.param]()
    yield built
    close = getattr(built, "aclose", None)
    if close is not None:
        await close()
