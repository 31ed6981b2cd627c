"""REST API routes (token auth, links, tags, schema and docs)."""
from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.signals import user_logged_in
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from config.api_parsers import API_PARSERS
from config.login_throttle import lockout_response
from snapshots.api.views import LinkViewSet, SnapshotAssetView
from imports.api import ExportView, ImportJobViewSet
from linkding_api.views import BookmarkViewSet, UserProfileView
from tagging.api import TagViewSet
from tagging.suggestions.api import AcceptSuggestions, PendingSuggestions, RejectSuggestions


class TokenView(ObtainAuthToken):
    """POST username and password, get {"token": ...} for the header `Authorization: Token <key>`."""

    parser_classes = API_PARSERS

    def post(self, request, *args, **kwargs):
        # django-axes counts the failures; its middleware cannot see DRF's wrapped request, so the
        # lockout is answered here, before and after the attempt.
        credentials = {"username": request.data.get("username", "")} if hasattr(request.data, "get") else {}
        if AxesProxyHandler.is_locked(request._request, credentials):
            return lockout_response(request._request)
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            if AxesProxyHandler.is_locked(request._request, credentials):
                return lockout_response(request._request)
            raise ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        # A sign-in like the web one: the failure count resets (AXES_RESET_ON_SUCCESS), last_login set.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


router = SimpleRouter()
router.register("links", LinkViewSet, basename="api-link")
router.register("tags", TagViewSet, basename="api-tag")
router.register("imports", ImportJobViewSet, basename="api-import")
# linkding's API (linkding_api/), for the clients people already use
router.register("bookmarks", BookmarkViewSet, basename="linkding-bookmark")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("export/", ExportView.as_view(), name="api-export"),
    path("user/profile/", UserProfileView.as_view(), name="linkding-profile"),
    path("snapshots/<int:pk>/<str:asset>/", SnapshotAssetView.as_view(), name="api-snapshot-asset"),
    path("links/<int:pk>/suggestions/accept/", AcceptSuggestions.as_view(), name="api-suggestions-accept"),
    path("links/<int:pk>/suggestions/reject/", RejectSuggestions.as_view(), name="api-suggestions-reject"),
    path("suggestions/", PendingSuggestions.as_view(), name="api-suggestions"),
    *router.urls,
]
