"""The step panel's source block: the step function's file:line and code, as text; nothing
when the step has none (a library-built step, or `STEPBACK_SHOW_SOURCE` off)."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

PANEL: dict[str, Any] = {
    "kind": "step",
    "key": "ship_order",
    "path": ["ship_order"],
    "node": {"kind": "step"},
    "recorded": False,
    "status": None,
    "tabs": [{"name": "input", "label": "Input"}],
    "tab": "input",
}
RUN = {"workflow_id": "order-fulfilment", "status": "success"}


def render(panel: dict[str, Any]) -> str:
    return render_to_string("runs/detail_panel.html", {"panel": panel, "run": RUN, "history": []})


def test_the_source_is_shown_with_its_file_and_line_as_text() -> None:
    code = 'def ship(ctx):\n    return "<script>alert(1)</script>"\n'
    html = render({**PANEL, "source": {"file": "shop/orders.py", "line": 42, "code": code}})

    assert "shop/orders.py:42" in html
    assert "data-step-source" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


def test_no_source_shows_nothing() -> None:
    html = render({**PANEL, "source": None})

    assert "data-step-source" not in html
