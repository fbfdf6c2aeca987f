"""The default engine: in-process asyncio, the reference semantics."""

from engines.default.engine import DefaultEngine

__all__ = ["DefaultEngine"]
