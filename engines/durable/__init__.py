"""The durable engine: runs on DBOS Transact, so runs survive the death of their process."""

from engines.durable.engine import DurableEngine

__all__ = ["DurableEngine"]
