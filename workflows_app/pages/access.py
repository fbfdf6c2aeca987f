"""Who may open a page and who may act from one: the API's two permission levels."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from engines import RunNotFoundError, StepNotFoundError
from workflows_app.api.permissions import OPERATE_PERMISSION, VIEW_PERMISSION
from workflows_app.registry import UnknownWorkflowError

View = Callable[..., HttpResponse]


def can_view(user: Any) -> bool:
    """True for a signed-in user who may look at runs."""
    return bool(user.is_authenticated and user.has_perm(VIEW_PERMISSION))


def can_operate(user: Any) -> bool:
    """True for a signed-in user who may also start, resume, cancel, restart and time-travel."""
    return bool(can_view(user) and user.has_perm(OPERATE_PERMISSION))


def _guarded(view: View, allowed: Callable[[Any], bool], methods: tuple[str, ...]) -> View:
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Signed in but not allowed: 403, not a sign-in loop.
        if not allowed(request.user):
            raise PermissionDenied
        try:
            return view(request, *args, **kwargs)
        except (RunNotFoundError, StepNotFoundError, UnknownWorkflowError) as exc:
            raise Http404(str(exc)) from exc

    page = require_http_methods(list(methods))(login_required(guarded))
    page.methods = set(methods)
    return page


def viewer_required(*methods: str) -> Callable[[View], View]:
    """A page for signed-in users with the view permission, answering `methods` (GET by
    default). Anonymous visitors go to the sign-in page; unknown runs, steps and workflows
    become 404. A view that also acts checks `can_operate` itself."""
    return lambda view: _guarded(view, can_view, methods or ("GET",))


def operator_required(*methods: str) -> Callable[[View], View]:
    """As `viewer_required`, with the operate permission too: the server refuses what a page
    without operate buttons could still be sent."""
    return lambda view: _guarded(view, can_operate, methods or ("POST",))
