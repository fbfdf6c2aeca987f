"""Page-number pages: one count and one page query, whatever the page size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

M = TypeVar("M", bound=Model)


def paginate(
    request: Request,
    queryset: QuerySet[M],
    page: int,
    page_size: int,
    row: Callable[[M], dict[str, Any]],
) -> dict[str, Any]:
    """A page (`RunPageSerializer` shape) of `queryset`, each item built by `row`.

    A page past the end is empty rather than an error: rows can vanish between two requests.
    """
    count = queryset.count()
    start = (page - 1) * page_size
    results = [row(item) for item in queryset[start : start + page_size]] if start < count else []
    url = request.build_absolute_uri()
    following = replace_query_param(url, "page", page + 1) if start + page_size < count else None
    if page <= 1:
        preceding = None
    elif page == 2:
        preceding = remove_query_param(url, "page")
    else:
        preceding = replace_query_param(url, "page", min(page - 1, max(1, -(-count // page_size))))
    return {
        "count": count,
        "page": page,
        "page_size": page_size,
        "next": following,
        "previous": preceding,
        "results": results,
    }
