"""ASGI entry point: Django for HTTP, the live protocol for websockets (served by Daphne)."""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workflows_app.settings")

# Set Django up before importing anything that touches models (the consumers do).
django_application = get_asgi_application()

from asgiref.sync import sync_to_async  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from workflows_app import broadcast, recovery, routing  # noqa: E402
from workflows_app.admission import AdmissionLimit  # noqa: E402


class ServerLoopRecorder:
    """Records the loop the server runs us on, so `broadcast` can send from it; and, before it
    answers anything, marks the runs a previous server left behind (`recovery.start`).

    The in-memory channel layer belongs to this loop; a run executing on another thread hands
    its messages over to it. Checked on every connection (an identity comparison), so a new
    loop in the same process (tests, a restarted server) takes over. Daphne has no start-up
    hook (no ASGI lifespan), so the first call stands for it.
    """

    def __init__(self, application: Any) -> None:
        self.application = application
        self.started = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        broadcast.attach_loop()
        if not self.started and settings.STEPBACK_RECOVERY:
            await sync_to_async(recovery.start)()
            self.started = True
        await self.application(scope, receive, send)


application = ServerLoopRecorder(
    ProtocolTypeRouter(
        {
            # Static files are served by WhiteNoise (settings.MIDDLEWARE), DEBUG on or off.
            # At most STEPBACK_HTTP_CONCURRENCY requests in Django at once; 503 past the queue.
            "http": AdmissionLimit(django_application),
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(routing.websocket_urlpatterns))
            ),
        }
    )
)
