"""The runs list (home): filters, search, sort, pages, live rows, and cancelling a selection."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from engines import WorkflowError
from workflows_app import registry, services
from workflows_app.api.filters import filter_runs
from workflows_app.api.serializers import RUN_ORDERINGS, RUN_STATUS_VALUES, RunListQuery
from workflows_app.models import Run
from workflows_app.pages.access import operator_required, viewer_required
from workflows_app.payloads import summaries

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
# The filters the form shows, in its order (the query string's names).
FILTERS = ("workflow", "status", "resource_id", "parent_run_id", "search", "after", "before")
# Sortable columns: the ordering a click asks for first (newest or "A to Z").
SORTABLE = {"created_at": "-created_at", "status": "status", "workflow_id": "workflow_id",
            "finished_at": "-finished_at"}  # fmt: skip


def row(run: Run) -> dict[str, Any]:
    """A runs list row: the run's summary, and whether it can still be cancelled."""
    return {**run.summary(), "cancelable": run.status not in services.ENDED}


def list_query(params: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The page's query string as the API's validated `RunListQuery`, and the problems with it.

    Blank fields are left out; dates from the form's date inputs (`after`, `before`) cover
    whole days in UTC; several statuses may be given (repeated, or separated by commas).
    A problem drops that filter instead of failing the page.
    """
    data: dict[str, Any] = {}
    for name in ("workflow", "resource_id", "parent_run_id", "search", "ordering"):
        value = params.get(name, "").strip()
        if value:
            data[name] = value
    statuses = [s.strip() for raw in params.getlist("status") for s in raw.split(",")]
    if any(statuses):
        data["status"] = ",".join(s for s in statuses if s)
    for name, field, clock in (
        ("after", "created_after", "T00:00:00Z"),
        ("before", "created_before", "T23:59:59.999999Z"),
    ):
        value = params.get(name, "").strip()
        if value:
            data[field] = value + clock if len(value) == 10 else value
    for name in ("page", "page_size"):
        if params.get(name, "").strip():
            data[name] = params[name].strip()
    data.setdefault("page_size", DEFAULT_PAGE_SIZE)
    query = RunListQuery(data=data)
    if query.is_valid():
        return dict(query.validated_data), {}
    problems = {field: [str(m) for m in msgs] for field, msgs in query.errors.items()}
    kept = {k: v for k, v in data.items() if k not in problems}
    again = RunListQuery(data=kept)
    again.is_valid()
    return dict(again.validated_data), problems


def _link(params: QueryDict, **changes: Any) -> str:
    """The current query string with `changes` (None removes a parameter)."""
    merged = {k: params.getlist(k) for k in params}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = [str(value)]
    return "?" + urlencode(merged, doseq=True) if merged else "?"


def _sort_links(params: QueryDict, ordering: str) -> dict[str, dict[str, str]]:
    links = {}
    for column, first in SORTABLE.items():
        current = ordering.lstrip("-") == column
        wanted = (
            (ordering[1:] if ordering.startswith("-") else f"-{ordering}") if current else first
        )
        arrow = ("↓" if ordering.startswith("-") else "↑") if current else ""
        sort = "descending" if ordering.startswith("-") else "ascending"
        links[column] = {
            "href": _link(params, ordering=wanted, page=None),
            "arrow": arrow,
            "aria": sort if current else "none",
        }
    return links


@viewer_required()
def run_list(request: HttpRequest) -> HttpResponse:
    """The runs list; every filter, the sort and the page are in the URL."""
    query, problems = list_query(request.GET)
    runs = filter_runs(query)
    page, size = query["page"], query["page_size"]
    count = runs.count()
    pages = max(1, -(-count // size))
    start = (page - 1) * size
    rows = [row(run) for run in runs[start : start + size]] if start < count else []
    filtered = any(request.GET.get(name) for name in FILTERS)
    params = request.GET
    context = {
        "runs": rows,
        "count": count,
        "page": page,
        "pages": pages,
        "page_size": size,
        "page_sizes": PAGE_SIZES,
        "previous_link": _link(params, page=page - 1 if page > 2 else None) if page > 1 else None,
        "next_link": _link(params, page=page + 1) if page < pages else None,
        "ordering": query.get("ordering") or "-created_at",
        "orderings": list(RUN_ORDERINGS),
        "sort": _sort_links(params, query.get("ordering") or "-created_at"),
        "statuses": RUN_STATUS_VALUES,
        "workflow_ids": sorted(registry.workflows()),
        "form": {name: params.get(name, "") for name in FILTERS},
        "selected_statuses": query.get("status") or [],
        "filtered": filtered,
        "problems": problems,
        "live_filter": {
            "workflow": query.get("workflow") or None,
            "status": query.get("status") or [],
            "resource_id": query.get("resource_id") or None,
            "parent_run_id": query.get("parent_run_id") or None,
            "search": query.get("search") or None,
            "created_after": params.get("after") or None,
            "created_before": params.get("before") or None,
            # Only the first page in the default order has a place for a new run.
            "insert": page == 1 and (query.get("ordering") or "-created_at") == "-created_at",
            "page_size": size,
        },
        "back": request.get_full_path(),
    }
    return render(request, "runs/list.html", context)


@viewer_required()
def run_rows(request: HttpRequest) -> HttpResponse:
    """Rows of the runs list for the given `run_id`s (repeated), newest first: how the live
    list shows a new run exactly as the server renders any row."""
    wanted = request.GET.getlist("run_id")[:50]
    runs = summaries().filter(run_id__in=wanted).order_by("-created_at", "-run_id")
    return render(request, "runs/rows.html", {"runs": [row(run) for run in runs]})


@operator_required("POST")
def cancel_runs(request: HttpRequest) -> HttpResponse:
    """Cancel the selected runs (`run_id`, repeated); says which were cancelled and why any
    were not, then goes back to the list it was sent from."""
    chosen = [run_id for run_id in request.POST.getlist("run_id") if run_id]
    done, refused = [], []
    for run_id in chosen:
        try:
            services.cancel_run(run_id, user=request.user)
            done.append(run_id)
        except WorkflowError as exc:  # ended, unknown, or its workflow is not registered
            refused.append(f"{run_id[:8]}: {exc}")
    if not chosen:
        messages.info(request, "Select the runs to cancel first.")
    if done:
        messages.success(request, f"Cancelled {len(done)} run{'s' if len(done) != 1 else ''}.")
    for problem in refused:
        messages.error(request, f"Not cancelled: {problem}")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        back = reverse("runs")
    return HttpResponseRedirect(back or reverse("runs"))
