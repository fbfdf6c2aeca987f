"""The two access levels: viewing runs, and operating them.

`CanView` is the API's default permission class (settings.REST_FRAMEWORK); every view that
changes something names `CanOperate`. Both need a signed-in user: DRF answers an anonymous
caller with 403 "Authentication credentials were not provided." (session authentication has no
401 challenge), and a signed-in user without the permission with 403 naming what is missing.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

VIEW_PERMISSION = "workflows_app.view_run"
OPERATE_PERMISSION = "workflows_app.operate_run"


class CanView(BasePermission):
    """A signed-in user holding `workflows_app.view_run`."""

    message = "You need the permission to view runs (workflows_app.view_run)."
    required: tuple[str, ...] = (VIEW_PERMISSION,)

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(self.required))


class CanOperate(CanView):
    """`CanView` plus `workflows_app.operate_run`: start, resume, cancel, restart, time-travel,
    import."""

    message = (
        "You need the permission to operate runs (workflows_app.operate_run): start, resume, "
        "cancel, restart, time travel and import."
    )
    required = (VIEW_PERMISSION, OPERATE_PERMISSION)
