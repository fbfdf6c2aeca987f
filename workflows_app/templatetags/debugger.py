"""Template filters of the debugger's pages (time travel, compare, lineage)."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()

# A diff shows a value on one line; longer values are cut (the step panels show them whole).
SHORT_JSON = 160


@register.filter
def short_json(value: Any) -> str:
    """The value as one line of JSON, cut to `SHORT_JSON` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHORT_JSON else text[: SHORT_JSON - 1] + "…"
