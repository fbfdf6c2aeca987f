"""The compare page (`/compare/?a=<run_id>&b=<run_id>`): two runs of one workflow step by step.

Rendered complete by the server from `services.compare_runs` (the API's compare): each step's
status, duration and field-level differences of input, output and state, the first divergence
marked (the page opens scrolled to it). `frontend/compare/page.js` draws the two graphs side by
side with the differing nodes marked. Two runs chosen elsewhere (`?run_id=x&run_id=y` from the
runs list, `?run=x&run=y` from the lineage tree) are redirected to the `a`/`b` address, so every
comparison has one deep link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from engines import ValidationError
from workflows_app import payloads, services
from workflows_app.pages.access import viewer_required
from workflows_app.pages.compare_rows import table_rows
from workflows_app.pages.run import drawable

RECENT = 50


def _chosen(request: HttpRequest) -> list[str]:
    for name in ("run_id", "run"):
        picked = [v.strip() for v in request.GET.getlist(name) if v.strip()]
        if picked:
            return picked
    return []


def _sides(row: dict[str, Any]) -> dict[str, Any]:
    """What a table row shows besides the diffs: a duration change in seconds."""
    a, b = row["a"] or {}, row["b"] or {}
    da, db = a.get("duration"), b.get("duration")
    delta = db - da if isinstance(da, (int, float)) and isinstance(db, (int, float)) else None
    diffs = row["input_diff"] or row["output_diff"] or row["state_diff"]
    return {**row, "duration_delta": delta, "has_diffs": bool(diffs)}


def page_data(result: dict[str, Any], graphs: tuple[Any, Any]) -> dict[str, Any]:
    """What `frontend/compare/page.js` draws: both graphs, each step's status on each side, the
    steps that differ and the first divergence."""
    return {
        "a": {"run_id": result["a"]["run_id"], "graph": graphs[0],
              "statuses": {r["key"]: r["a"]["status"] for r in result["steps"] if r["a"]}},
        "b": {"run_id": result["b"]["run_id"], "graph": graphs[1],
              "statuses": {r["key"]: r["b"]["status"] for r in result["steps"] if r["b"]}},
        "differs": [r["key"] for r in result["steps"] if r["differs"]],
        "first": ".".join(result["first_divergence"]) if result["first_divergence"] else None,
    }  # fmt: skip


@viewer_required()
def compare_page(request: HttpRequest) -> HttpResponse:
    """The comparison of `?a=` and `?b=`, or the form to choose them."""
    picked = _chosen(request)
    if len(picked) >= 2:
        query = urlencode({"a": picked[0], "b": picked[1]})
        return HttpResponseRedirect(f"{reverse('compare')}?{query}")
    a = request.GET.get("a", "").strip() or (picked[0] if picked else "")
    b = request.GET.get("b", "").strip()
    recent = [run.summary() for run in payloads.summaries().order_by("-created_at")[:RECENT]]
    context: dict[str, Any] = {"a": a, "b": b, "recent": recent, "result": None, "refused": None}
    if not (a and b):
        if a or b or picked:
            context["refused"] = "Choose two runs to compare."
        return render(request, "debugger/compare.html", context)
    try:
        result = services.compare_runs(a, b)
    except ValidationError as exc:
        context["refused"] = "; ".join(e["message"] for e in exc.errors) or str(exc)
        return render(request, "debugger/compare.html", context, status=400)
    run_a, run_b = payloads.get_run(a), payloads.get_run(b)
    graphs = (drawable(run_a.graph or {}), drawable(run_b.graph or {}))
    rows = [_sides(row) for row in result["steps"]]
    context.update(
        {
            "result": result,
            "rows": rows,
            "differing": sum(1 for row in rows if row["differs"]),
            "first": ".".join(result["first_divergence"]) if result["first_divergence"] else None,
            "page_data": page_data(result, graphs),
            "table_rows": table_rows(rows, ".".join(result["first_divergence"] or ()) or None),
        }
    )
    return render(request, "debugger/compare.html", context)
