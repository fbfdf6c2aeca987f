"""Errors as JSON and back, keeping class name, message, attributes and the cause chain."""

from __future__ import annotations

import builtins
import sys
import traceback as tb
from typing import Any

from engines.core.errors import StoredError

_MAX_DEPTH = 8
_SKIPPED_ATTRS = frozenset({"__traceback__", "__cause__", "__context__", "args", "__notes__"})


def _json_safe(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if depth > 6:
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v, depth + 1) for v in value]
    return repr(value)


def error_to_dict(exc: BaseException, depth: int = 0) -> dict[str, Any]:
    """Serialize an exception without its traceback (that is kept apart, see `format_traceback`)."""
    cls = type(exc)
    data: dict[str, Any] = {
        "type": getattr(exc, "__stored_name__", cls.__name__),
        "module": getattr(exc, "__stored_module__", cls.__module__),
        "message": str(exc),
    }
    args = _json_safe(list(exc.args))
    if args != [data["message"]]:
        data["args"] = args  # so str() of the rebuilt error matches (KeyError quotes its key)
    attrs = (
        {
            k: _json_safe(v)
            for k, v in vars(exc).items()
            if k not in _SKIPPED_ATTRS and not k.startswith("_")
        }
        if hasattr(exc, "__dict__")
        else {}
    )
    if attrs:
        data["attributes"] = attrs
    cause = exc.__cause__
    if cause is not None and depth < _MAX_DEPTH:
        data["cause"] = error_to_dict(cause, depth + 1)
    return data


_rebuilt_classes: dict[tuple[str, str], type[StoredError]] = {}


def _find_class(module: str, name: str) -> type[BaseException] | None:
    source = builtins if module == "builtins" else sys.modules.get(module)
    cls = getattr(source, name, None) if source is not None else None
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls
    return None


def _stand_in_class(module: str, name: str) -> type[StoredError]:
    key = (module, name)
    cls = _rebuilt_classes.get(key)
    if cls is None:
        cls = type(name, (StoredError,), {"__module__": module})
        _rebuilt_classes[key] = cls
    return cls


def error_from_dict(data: dict[str, Any]) -> BaseException:
    """Rebuild an exception: its own class when importable here, else a same-named stand-in."""
    name = str(data.get("type") or "Exception")
    module = str(data.get("module") or "builtins")
    message = str(data.get("message", ""))
    cls = _find_class(module, name)
    exc: BaseException
    if cls is not None:
        # __new__ skips a custom __init__ whose signature we cannot know.
        exc = cls.__new__(cls)
        args = data.get("args")
        exc.args = tuple(args) if isinstance(args, list) else (message,)
    else:
        exc = _stand_in_class(module, name)(message)
    for key, value in (data.get("attributes") or {}).items():
        try:
            setattr(exc, key, value)
        except (AttributeError, TypeError):
            continue
    cause = data.get("cause")
    if isinstance(cause, dict):
        exc.__cause__ = error_from_dict(cause)
    return exc


def format_traceback(exc: BaseException) -> str:
    """The traceback text kept beside a stored error, for people reading it."""
    return "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
