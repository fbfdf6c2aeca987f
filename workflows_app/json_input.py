"""The JSON people send: one parser, one set of limits, one error with field paths.

Every request body of the API (its parser), every JSON argument of a command and every value
the services receive from a caller goes through this module, so what is refused, and how it
is said, is decided here only. Refused, with the path of each problem:

- a body larger than `settings.STEPBACK_MAX_BODY_BYTES` (10 MiB unless configured);
- nesting deeper than `MAX_DEPTH` levels: the engines copy and serialize values recursively,
  and a value nested thousands deep exhausts Python's stack wherever it goes next;
- a NUL character in a string or key: PostgreSQL's text and jsonb cannot hold it;
- an unpaired UTF-16 surrogate (`"\\ud800"`): it is not text, and no UTF-8 encoder can write it
  back out;
- NaN, Infinity, and numbers too large for a float (`1e400`), which JSON cannot carry;
- bytes that are not UTF-8, or text that is not JSON.

Depth counts containers: `1` has depth 0, `[]` 1, `{"input": [1]}` 2. A request body may nest
`MAX_DEPTH` levels, so the values inside its top-level object (a run's input, state, context,
resume data) at most `MAX_DEPTH - 1`. An imported bundle may nest `BUNDLE_DEPTH_ALLOWANCE`
levels more: that is how deep a bundle stores a run's values (a step output sits in
`snapshots.N.data.steps.<key>.output`), so any run accepted here can be exported and imported.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.conf import settings

from engines import ValidationError

MAX_DEPTH = 64
BUNDLE_DEPTH_ALLOWANCE = 8
# A body with many problems names the first few; fixing them reveals the rest.
MAX_REPORTED = 20

# Only an escape in the text can produce a NUL or a lone surrogate (raw control characters are
# invalid JSON, raw surrogates invalid UTF-8): text without one skips the per-string checks.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89abcdefABCDEF])")
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]')


class JSONInputError(ValidationError):
    """Raised when JSON sent to the app is over a limit or holds what cannot be stored;
    `errors` names the path of each problem."""


def max_body_bytes() -> int:
    """The largest request body accepted, in bytes."""
    return int(settings.STEPBACK_MAX_BODY_BYTES)


def loads(data: bytes | str, *, depth_allowance: int = 0) -> Any:
    """Parse a JSON document sent by someone; `JSONInputError` names what is refused."""
    if isinstance(data, bytes):
        limit = max_body_bytes()
        if len(data) > limit:
            _refuse("", f"it is larger than the limit of {limit} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            _refuse("", f"it is not UTF-8 text (byte {exc.start})")
    else:
        text = data
    limit = MAX_DEPTH + depth_allowance
    non_finite: list[str] = []
    try:
        value = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_float_noting(non_finite)
        )
    except RecursionError:
        # Python's parser gives up long before a hostile document ends; say where it crossed.
        _refuse(_path_beyond(text, limit), _too_deep(limit))
    except json.JSONDecodeError as exc:
        _refuse("", f"it is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    except ValueError as exc:  # an integer of more than 4,300 digits, NaN, Infinity
        _refuse("", f"it is not valid JSON: {exc}")
    strings = _SUSPECT_ESCAPE.search(text) is not None
    raise_problems(
        _problems(value, "", limit=limit, strings=strings, floats=bool(non_finite)),
    )
    return value


def check(value: Any, path: str) -> None:
    """Refuse a value a caller passed in (not parsed here) that breaks a limit, as if it had
    come as the field `path` of a request body (`"input"`, `"data"`, ...)."""
    raise_problems(_problems(value, path, limit=MAX_DEPTH - 1, strings=True, floats=True))


def check_document(value: Any, *, depth_allowance: int = 0) -> None:
    """Refuse a whole document a caller passed in (an import bundle) that breaks a limit."""
    limit = MAX_DEPTH + depth_allowance
    raise_problems(_problems(value, "", limit=limit, strings=True, floats=True))


def raise_problems(problems: list[dict[str, str]]) -> None:
    """`JSONInputError` listing `problems`, if there are any."""
    if problems:
        raise JSONInputError("The JSON sent cannot be accepted", problems)


def _refuse(path: str, message: str) -> Any:
    raise JSONInputError("The JSON sent cannot be accepted", [{"path": path, "message": message}])


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _float_noting(non_finite: list[str]) -> Any:
    def parse(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            non_finite.append(text)
        return number

    return parse


def _too_deep(limit: int) -> str:
    return f"is nested more than {limit} levels deep (the limit)"


def _label(key: str) -> str:
    """A key as it can be shown in a path (the bad characters written as escapes)."""
    return key.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def _join(path: str, key: Any) -> str:
    part = _label(key) if isinstance(key, str) else str(key)
    return f"{path}.{part}" if path else part


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        return f"contains an unpaired surrogate (\\u{code:04x}), which is not text"
    return None


def _scalar_problem(value: Any, strings: bool, floats: bool) -> str | None:
    if strings and type(value) is str:
        return _string_problem(value)
    if floats and type(value) is float and not math.isfinite(value):
        return f"is not a finite number ({value})"
    return None


def _problems(
    value: Any, path: str, *, limit: int, strings: bool, floats: bool
) -> list[dict[str, str]]:
    """Every problem of `value` (up to `MAX_REPORTED`), walked without recursion."""
    found: list[dict[str, str]] = []
    if type(value) not in (dict, list):
        problem = _scalar_problem(value, strings, floats)
        if problem and not path:
            problem = f"it {problem}"
        return [{"path": path, "message": problem}] if problem else []
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack and len(found) < MAX_REPORTED:
        node, where, depth = stack.pop()
        if depth > limit:
            found.append({"path": where, "message": _too_deep(limit)})
            continue
        items = node.items() if type(node) is dict else enumerate(node)
        for key, item in items:
            if strings and type(key) is str:
                problem = _string_problem(key)
                if problem:
                    found.append({"path": _join(where, key), "message": f"key {problem}"})
            kind = type(item)
            if kind is dict or kind is list:
                stack.append((item, _join(where, key), depth + 1))
            else:
                problem = _scalar_problem(item, strings, floats)
                if problem:
                    found.append({"path": _join(where, key), "message": problem})
    return sorted(found[:MAX_REPORTED], key=lambda p: p["path"])


def _path_beyond(text: str, limit: int) -> str:
    """The path of the first container nested deeper than `limit` in a JSON text, read token
    by token without building anything (the text is too deep to parse)."""
    frames: list[list[Any]] = []  # per open container: [is_object, key or index, expect_key]
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            if len(frames) >= limit:
                break
            frames.append([token == "{", 0 if token == "[" else "", token == "{"])
        elif token in "]}":
            if frames:
                frames.pop()
        elif token == ",":
            if frames:
                frame = frames[-1]
                if frame[0]:
                    frame[2] = True
                else:
                    frame[1] += 1
        elif token == ":":
            if frames:
                frames[-1][2] = False
        elif frames and frames[-1][0] and frames[-1][2]:
            try:
                frames[-1][1] = json.loads(token)
            except ValueError:
                frames[-1][1] = token[1:-1]
    path = ""
    for _, key, _ in frames:
        path = _join(path, key)
    return path
