"""ASGI entry point: Django for HTTP, the live protocol for websockets (served by Daphne)."""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workflows_app.settings")

# Set Django up before importing anything that touches models (the consumers do).
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from workflows_app import broadcast, routing  # noqa: E402


class ServerLoopRecorder:
    """Records the loop the server runs us on, so `broadcast` can send from it.

    The in-memory channel layer belongs to this loop; a run executing on another thread hands
    its messages over to it. Checked on every connection (an identity comparison), so a new
    loop in the same process (tests, a restarted server) takes over.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        broadcast.attach_loop()
        await self.application(scope, receive, send)


application = ServerLoopRecorder(
    ProtocolTypeRouter(
        {
            # Static files are served by WhiteNoise (settings.MIDDLEWARE), DEBUG on or off.
            "http": django_application,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(routing.websocket_urlpatterns))
            ),
        }
    )
)
