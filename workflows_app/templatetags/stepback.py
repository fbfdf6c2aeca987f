"""Template tags the pages share: status chips, moments, durations, JSON blocks and run links.

Each renders what its JavaScript twin in `frontend/widgets/` renders, so a page is complete on
first paint and a live update looks the same as the server's HTML. Everything is escaped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html

from workflows_app.queries import iso

register = template.Library()

# JSON larger than this is shown as text without the collapsible tree (the browser would spend
# longer building the tree than the reader would spend scrolling).
TREE_LIMIT = 200_000


def as_datetime(value: Any) -> datetime | None:
    """A datetime from a datetime, an ISO 8601 string or engine seconds since the epoch."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@register.inclusion_tag("partials/status.html")
def status_chip(status: Any) -> dict[str, Any]:
    """A status as a coloured chip with a symbol and the word (`partials/status.html`)."""
    return {"status": str(status or "pending")}


@register.simple_tag
def moment(value: Any) -> str:
    """A `<time>` showing the moment in UTC; `frontend/widgets/time.js` shows it in the
    reader's time zone and keeps the exact UTC time on hover."""
    when = as_datetime(value)
    if when is None:
        return format_html('<span class="muted">{}</span>', "—")
    exact = iso(when.astimezone(UTC)) or ""
    shown = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return format_html('<time datetime="{}" title="{}" data-moment>{}</time>', exact, exact, shown)


@register.filter
def duration(seconds: Any) -> str:
    """Seconds as a person reads them: `850 ms`, `4.2 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`
    (the same rules as `formatDuration` in `frontend/widgets/time.js`)."""
    if seconds is None or seconds == "":
        return "—"
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return "—"
    if value < 1:
        return f"{round(value * 1000)} ms"
    if value < 60:
        return f"{value:.1f} s"
    whole = int(value)
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


# The order step counts are shown in: what needs attention first.
COUNT_ORDER = (
    "failed",
    "suspended",
    "running",
    "waiting",
    "paused",
    "success",
    "canceled",
    "skipped",
)


@register.inclusion_tag("partials/step_counts.html")
def step_counts(counts: Any) -> dict[str, Any]:
    """A run's step count by status as small chips (`partials/step_counts.html`)."""
    counts = counts if isinstance(counts, dict) else {}
    known = [s for s in COUNT_ORDER if counts.get(s)]
    other = sorted(s for s in counts if s not in COUNT_ORDER and counts.get(s))
    return {"counts": [(status, counts[status]) for status in [*known, *other]]}


@register.filter
def pretty_json(value: Any) -> str:
    """The value as indented JSON text (escaped by the template like any other text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


@register.inclusion_tag("partials/json.html")
def json_block(value: Any, label: str = "", collapsed_depth: int = 2) -> dict[str, Any]:
    """A JSON value as a block with a copy button, collapsible by `frontend/widgets/json-view.js`
    (`partials/json.html`); levels deeper than `collapsed_depth` start folded."""
    text = pretty_json(value)
    return {
        "text": text,
        "label": label,
        "tree": len(text) <= TREE_LIMIT,
        "collapsed_depth": collapsed_depth,
    }


@register.simple_tag
def run_link(run_id: Any, text: str = "") -> str:
    """A link to a run's page, showing the start of its id (the whole id on hover)."""
    if not run_id:
        return format_html('<span class="muted">{}</span>', "—")
    run_id = str(run_id)
    shown = text or (run_id[:8] if len(run_id) > 12 else run_id)
    return format_html(
        '<a class="mono" href="{}" title="{}">{}</a>',
        reverse("run-detail", args=[run_id]),
        run_id,
        shown,
    )


@register.filter
def step_path(path: Any) -> str:
    """A step path (a list or a dotted key) as people read it, one arrow between segments."""
    parts = path if isinstance(path, (list, tuple)) else str(path or "").split(".")
    return " › ".join(str(part) for part in parts if part != "")
