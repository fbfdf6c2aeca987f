"""Building evented engines from the environment: Redis URL, key prefix, embedded worker."""

from __future__ import annotations

import os
import uuid

from engines.evented.engine import EventedEngine
from engines.storage.base import Storage

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    """`STEPBACK_REDIS_URL`, else `REDIS_URL`, else Redis on this machine."""
    return os.environ.get("STEPBACK_REDIS_URL") or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def redis_engine(
    storage: Storage | None,
    url: str | None = None,
    *,
    prefix: str | None = None,
    embedded: bool = True,
    name: str = "evented-redis",
) -> EventedEngine:
    """An evented engine on Redis Streams. Without `prefix` it gets a private one (its own
    streams, deleted when it closes): the engine and its embedded worker are alone on it."""
    from engines.pubsub.redis import RedisPubSub

    where = url or redis_url()
    private = prefix is None
    keys = prefix or f"stepback:tmp:{uuid.uuid4().hex[:12]}"
    return EventedEngine(
        storage,
        lambda: RedisPubSub(where, keys),
        name=name,
        embedded=embedded,
        purge_on_close=private,
    )


def evented_engine(storage: Storage | None) -> EventedEngine:
    """`evented`: on Redis under the shared prefix when `REDIS_URL` is set (workers elsewhere
    execute unless `STEPBACK_EVENTED_EMBEDDED=1`), else in this process."""
    url = os.environ.get("STEPBACK_REDIS_URL") or os.environ.get("REDIS_URL")
    if not url:
        return EventedEngine(storage, name="evented")
    embedded = os.environ.get("STEPBACK_EVENTED_EMBEDDED", "") in ("1", "true", "yes")
    prefix = os.environ.get("STEPBACK_EVENTED_PREFIX", "stepback")
    return redis_engine(storage, url, prefix=prefix, embedded=embedded, name="evented")
