"""REST API routes (token auth, links, tags, schema and docs)."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import SimpleRouter

from config.api_parsers import API_PARSERS
from snapshots.api.views import LinkViewSet, SnapshotAssetView
from tagging.api import TagViewSet
from tagging.suggestions.api import AcceptSuggestions, PendingSuggestions, RejectSuggestions


class TokenView(ObtainAuthToken):
    """POST username and password, get {"token": ...} for the header `Authorization: Token <key>`."""

    parser_classes = API_PARSERS


router = SimpleRouter()
router.register("links", LinkViewSet, basename="api-link")
router.register("tags", TagViewSet, basename="api-tag")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("snapshots/<int:pk>/<str:asset>/", SnapshotAssetView.as_view(), name="api-snapshot-asset"),
    path("links/<int:pk>/suggestions/accept/", AcceptSuggestions.as_view(), name="api-suggestions-accept"),
    path("links/<int:pk>/suggestions/reject/", RejectSuggestions.as_view(), name="api-suggestions-reject"),
    path("suggestions/", PendingSuggestions.as_view(), name="api-suggestions"),
    *router.urls,
]
