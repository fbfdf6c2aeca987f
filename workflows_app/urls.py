"""URL configuration: the pages, sign-in, the admin, the API and its OpenAPI schema."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The schema view's permission is settings.SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] (CanView).
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("workflows_app.api.urls")),
    path("admin/", admin.site.urls),
    path("", include("workflows_app.pages.urls")),
]
