"""Pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
@permission_required("workflows_app.view_run", raise_exception=True)
def home(request: HttpRequest) -> HttpResponse:
    """The home page (the runs list arrives with the web layer); signed-in viewers only.

    Anonymous visitors are sent to the sign-in page; a signed-in user without the view
    permission gets 403 rather than a sign-in loop.
    """
    return render(request, "home.html")
