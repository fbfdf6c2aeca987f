"""Transports for the evented engine: a work queue, timers, broadcast channels and leases.

`InMemoryPubSub` serves one process (the embedded default); `RedisPubSub` runs on Redis
Streams with one consumer group, so any number of worker processes share the work.
"""

from engines.pubsub.base import Delivery, PubSub
from engines.pubsub.memory import InMemoryPubSub

__all__ = ["Delivery", "InMemoryPubSub", "PubSub"]
