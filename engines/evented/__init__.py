"""The evented engine: runs flow through a pub/sub transport to any number of workers.

See `engines.evented.engine` for how an execution travels, `processor` for how a worker
handles one processor event, and `worker` for the worker processes.
"""

from engines.evented.engine import EventedEngine

__all__ = ["EventedEngine"]
