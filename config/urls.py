from django.contrib import admin
from django.urls import include, path

from config import health
from linkding_api.views import health as linkding_health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("health", linkding_health, name="linkding-health"),  # linkding's clients probe this
    path("api/", include("config.api_urls")),
    path("tags/", include("tagging.urls")),
    path("import/", include("imports.urls")),
    path("settings/", include("accounts.urls")),
    path("feeds/", include("accounts.feed_urls")),
    path("snapshots/", include("snapshots.replay.urls")),
    path("", include("tagging.suggestions.urls")),
    path("", include("snapshots.web.urls")),
]
