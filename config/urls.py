from django.contrib import admin
from django.urls import include, path

from config import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("api/", include("config.api_urls")),
    path("tags/", include("tagging.urls")),
    path("snapshots/", include("snapshots.replay.urls")),
    path("", include("tagging.suggestions.urls")),
    path("", include("snapshots.web.urls")),
]
