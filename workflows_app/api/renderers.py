"""The API's JSON renderer: DRF's, made unable to fail on a value already stored.

Input is checked before anything is stored (`workflows_app.json_input`), but a run recorded
before those checks may hold an unpaired surrogate, which UTF-8 cannot encode (SQLite stores
it; PostgreSQL refuses it). Such a run must stay readable: its answer escapes every non-ASCII
character instead, `\\ud800` being how JSON writes that surrogate.
"""

from __future__ import annotations

from typing import Any

from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    """`rest_framework.renderers.JSONRenderer` that falls back to ASCII-only JSON."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        """The JSON bytes of `data` (escaped when plain UTF-8 cannot hold it)."""
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            escaping = type(self)()
            escaping.ensure_ascii = True
            return escaping.render(data, accepted_media_type, renderer_context)
