"""The compare page's step table as HTML, built here rather than by the template engine.

A comparison of two 1,000-step runs has a thousand rows with their diffs: Django's template
engine (a render call per include and per tag) took seconds over them, string building takes
milliseconds. Every value goes through `escape`, as the templates' autoescaping would.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as _escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from workflows_app.templatetags.debugger import short_json
from workflows_app.templatetags.stepback import duration, step_path


def escape(value: Any) -> str:
    """`value` as HTML text (the standard library's escape: Django's, lazy-aware, costs ten
    times as much over a thousand rows)."""
    return _escape(str(value), quote=True)


def chip(status: Any) -> str:
    """The status chip (`partials/status.html`)."""
    text = escape(status)
    return f'<span class="chip" data-status="{text}">{text}</span>'


def diff_items(diffs: Iterable[dict[str, Any]]) -> str:
    """A `<ul class="diff-list">` of field-level differences (as `debugger/compare_diffs.html`)."""
    items = []
    for d in diffs:
        path = f'<code class="diff-path">{escape(d["path"] or "(the whole value)")}</code>'
        a = f'<del class="diff-a">{escape(short_json(d["a"]))}</del>'
        b = f'<ins class="diff-b">{escape(short_json(d["b"]))}</ins>'
        kind = d["kind"]
        if kind == "added":
            body = f"{path} added: {b}"
        elif kind == "removed":
            body = f"{path} removed (was {a})"
        else:
            body = f"{path}: {a} → {b}"
        items.append(f'<li data-kind="{escape(kind)}">{body}</li>')
    return f'<ul class="diff-list">{"".join(items)}</ul>'


def _group(title: str, diffs: list[dict[str, Any]]) -> str:
    if not diffs:
        return ""
    return f'<div class="cmp-diff"><h4>{title}</h4>{diff_items(diffs)}</div>'


def _side(side: dict[str, Any] | None) -> str:
    return chip(side["status"]) if side else '<span class="muted">not run</span>'


def _errors(a: dict[str, Any], b: dict[str, Any]) -> str:
    lines = [
        f"{name}: <strong>{escape(side.get('error_type') or '')}</strong> {escape(side['error'])}"
        for name, side in (("A", a), ("B", b))
        if side.get("error")
    ]
    return f'<p class="cmp-errors">{"<br>".join(lines)}</p>' if lines else ""


def _what(row: dict[str, Any], first: bool) -> str:
    if not (row["has_diffs"] or row["status_changed"]):
        return '<span class="muted">—</span>'
    names = [
        name
        for name, on in (
            ("status", row["status_changed"]),
            ("input", row["input_diff"]),
            ("output", row["output_diff"]),
            ("state", row["state_diff"]),
        )
        if on
    ]
    a, b = row["a"] or {}, row["b"] or {}
    return (
        f"<details{' open' if first else ''}><summary>{' '.join(names)}</summary>"
        f"{_errors(a, b)}{_group('Input', row['input_diff'])}"
        f"{_group('Output', row['output_diff'])}{_group('State change', row['state_diff'])}"
        "</details>"
    )


def table_rows(rows: list[dict[str, Any]], first: str | None) -> SafeString:
    """The rows of the step list (`<li>`s, laid out as a grid: a thousand table rows cost the
    browser seconds of layout, list items off screen cost nothing with `content-visibility`);
    the first divergence's row is `#cmp-first`."""
    out = []
    for number, row in enumerate(rows, 1):
        key = row["key"]
        is_first = key == first
        a, b = row["a"] or {}, row["b"] or {}
        attributes = [
            f'id="{"cmp-first" if is_first else f"cmp-{number}"}"',
            f'data-key="{escape(key)}"',
        ]
        if row["differs"]:
            attributes.append("data-differs")
        attributes.append(f'class="cmp-row{" cmp-first" if is_first else ""}"')
        if is_first:
            attributes.append("data-first")
        label = ' <strong class="cmp-first-label">first divergence</strong>' if is_first else ""
        out.append(
            f"<li {' '.join(attributes)}>"
            f'<div class="cmp-step"><code>{escape(step_path(key))}</code>{label}</div>'
            f'<div data-label="A">{_side(row["a"])}</div>'
            f'<div data-label="B">{_side(row["b"])}</div>'
            f'<div data-label="Duration" class="num">{duration(a.get("duration"))} → '
            f"{duration(b.get('duration'))}</div>"
            f'<div data-label="Differs" class="cmp-what">{_what(row, is_first)}</div></li>'
        )
    return mark_safe("".join(out))  # every value above is escaped
