"""Websocket URLs (served under the ASGI application in `workflows_app.asgi`)."""

from __future__ import annotations

from django.urls import path, re_path

from workflows_app.consumers import NoSuchAddressConsumer, RunConsumer, RunsConsumer

websocket_urlpatterns = [
    path("ws/runs/", RunsConsumer.as_asgi(), name="ws-runs"),
    # Any run id the database can hold (up to 64 characters, no slash, no NUL); the consumer
    # answers an unknown one with close code 4404.
    re_path(r"^ws/runs/(?P<run_id>[^/\x00]{1,64})/$", RunConsumer.as_asgi(), name="ws-run"),
    # Last: any other address is closed with 4404 too, rather than failing the handshake.
    re_path(r"", NoSuchAddressConsumer.as_asgi(), name="ws-unknown"),
]
