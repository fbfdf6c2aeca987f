"""What every page shows around its content: the section it belongs to, the inbox's open count
and whether the user may operate (a template context processor)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from workflows_app.models import HumanTask
from workflows_app.pages.access import can_operate, can_view

# URL names by the navigation section they belong to.
SECTIONS = {
    "runs": "runs",
    "runs-cancel": "runs",
    "run-detail": "runs",
    "workflows": "workflows",
    "workflow-detail": "workflows",
    "workflow-start": "workflows",
    "inbox": "inbox",
    "inbox-task": "inbox",
}


def shell(request: HttpRequest) -> dict[str, Any]:
    """`nav_section`, `inbox_open` (one count query, viewers only) and `can_operate`."""
    user = getattr(request, "user", None)
    if user is None or not can_view(user):
        return {"nav_section": None, "inbox_open": 0, "can_operate": False}
    match = request.resolver_match
    return {
        "nav_section": SECTIONS.get(match.url_name or "") if match else None,
        "inbox_open": HumanTask.objects.filter(status=HumanTask.OPEN).count(),
        "can_operate": can_operate(user),
    }
