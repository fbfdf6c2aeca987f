"""The API's JSON renderer: DRF's, made unable to fail on a value already stored.

Input is checked before anything is stored (`workflows_app.json_input`), but a run recorded
before those checks may hold an unpaired surrogate, which UTF-8 cannot encode (SQLite stores
it; PostgreSQL refuses it). Such a run must stay readable: its answer escapes every non-ASCII
character instead, `\\ud800` being how JSON writes that surrogate.
"""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_default = JSONEncoder().default  # datetimes, decimals, lazy strings: as DRF writes them


class JSONRenderer(renderers.JSONRenderer):
    """`rest_framework.renderers.JSONRenderer` that falls back to ASCII-only JSON."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        """The JSON bytes of `data` (escaped when plain UTF-8 cannot hold it).

        orjson writes them (a big run's answer is megabytes, which DRF's encoder takes
        several times as long to write), unless the client asked for indented JSON or orjson
        refuses a value (an unpaired surrogate, an int over 64 bits): then DRF's encoder."""
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is None:
            try:
                text = orjson.dumps(data, default=_default, option=_OPTIONS)
            except TypeError:
                pass
            else:
                # As DRF writes them: valid JSON that is also safe inside a script element.
                return text.replace(b"\xe2\x80\xa8", b"\\u2028").replace(
                    b"\xe2\x80\xa9", b"\\u2029"
                )
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            escaping = type(self)()
            escaping.ensure_ascii = True
            return escaping.render(data, accepted_media_type, renderer_context)
