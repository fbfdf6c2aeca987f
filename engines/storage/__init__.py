"""Where runs live: the `Storage` protocol and the in-memory implementation."""

from engines.storage.base import RunPage, RunSummary, Storage
from engines.storage.memory import InMemoryStorage

__all__ = ["InMemoryStorage", "RunPage", "RunSummary", "Storage"]
