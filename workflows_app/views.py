"""Pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The home page (the runs list arrives with the web layer)."""
    return render(request, "home.html")
