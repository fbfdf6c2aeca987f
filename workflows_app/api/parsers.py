"""The API's request body parser: JSON through `workflows_app.json_input`, whose limits (size,
depth, NUL characters, unpaired surrogates, non-finite numbers) hold for every endpoint."""

from __future__ import annotations

from typing import IO, Any

from rest_framework.parsers import BaseParser

from workflows_app import json_input
from workflows_app.api.renderers import JSONRenderer


class JSONBodyParser(BaseParser):
    """`application/json` bodies. A view may allow deeper nesting by setting
    `json_depth_allowance` (the import endpoint does, for the bundle's envelope)."""

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        """The parsed body; `JSONInputError` (400 with field paths) when it is refused."""
        context = parser_context or {}
        limit = json_input.max_body_bytes()
        request = context.get("request")
        declared = _content_length(request)
        if declared is not None and declared > limit:
            # Refused before a byte is read: a client announcing a huge body gets its answer.
            json_input.raise_problems(
                [{"path": "", "message": f"it is larger than the limit of {limit} bytes"}]
            )
        data = stream.read(limit + 1) if stream is not None else b""
        allowance = getattr(context.get("view"), "json_depth_allowance", 0)
        return json_input.loads(data, depth_allowance=allowance)


def _content_length(request: Any) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except (AttributeError, ValueError):
        return None
