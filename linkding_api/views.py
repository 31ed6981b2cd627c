"""linkding's REST API on Linkshot's base URL, so linkding's extension, apps and clients keep working.

Thin views: filtering goes through Linkshot's one link query, writes through its link services,
and the one access rule (other people's links answer 404) applies as everywhere else.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.access import get_owned_or_404, owned_by
from config.api_params import text_params
from config.api_parsers import API_PARSERS
from linkding_api import services
from linkding_api.serializers import LINKDING_API_VERSION, BookmarkInputSerializer, BookmarkSerializer
from snapshots.links import services as link_services
from snapshots.links.queries import LinkQuery, query_links
from snapshots.links.shown import latest_snapshot
from snapshots.models import Link, Snapshot


class LinkdingPagination(LimitOffsetPagination):
    default_limit = 100  # linkding's default
    max_limit = 1000


def health(request: HttpRequest) -> JsonResponse:
    """GET /health as linkding answers it."""
    try:
        connections["default"].ensure_connection()
    except Exception:  # any driver error means unhealthy
        return JsonResponse({"version": LINKDING_API_VERSION, "status": "unhealthy"}, status=500)
    return JsonResponse({"version": LINKDING_API_VERSION, "status": "healthy"})


def _since(request: Request, name: str):
    raw = request.query_params.get(name)
    if not raw:
        return None
    parsed = parse_datetime(raw.replace(" ", "+"))  # a "+" in a query string arrives as a space
    if parsed is None:
        raise serializers.ValidationError({name: ["Use an ISO 8601 date and time, e.g. 2025-01-01T00:00:00Z."]})
    return parsed


class BookmarkViewSet(viewsets.GenericViewSet):
    serializer_class = BookmarkSerializer
    pagination_class = LinkdingPagination
    parser_classes = API_PARSERS

    def get_queryset(self) -> QuerySet[Link]:
        # The favicon and preview image come from each link's newest snapshot: prefetched per page.
        snapshots = Prefetch("snapshots", queryset=Snapshot.objects.only(
            "pk", "link_id", "status", "created_at", "favicon", "thumbnail", "title", "description", "og_image_url"))
        return owned_by(Link.objects.all(), self.request.user).defer("page_text").prefetch_related("tags", snapshots)

    def get_object(self) -> Link:
        return get_owned_or_404(self.get_queryset(), self.request.user, pk=self.kwargs["pk"])

    def _page(self, archived: bool) -> Response:
        query = LinkQuery(text=(text_params(self.request, "q") or [""])[-1], archived=archived)
        links = query_links(self.request.user, query, self.get_queryset())
        if (modified := _since(self.request, "modified_since")) is not None:
            links = links.filter(updated_at__gt=modified)
        if (added := _since(self.request, "added_since")) is not None:
            links = links.filter(created_at__gt=added)
        page = self.paginate_queryset(links.order_by("-created_at", "-id"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _fresh(self, link: Link, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=link.pk)).data, status=code)

    def list(self, request: Request) -> Response:
        return self._page(archived=False)

    @action(detail=False, methods=["get"])
    def archived(self, request: Request) -> Response:
        return self._page(archived=True)

    def retrieve(self, request: Request, pk=None) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        given = BookmarkInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        link = self._saved(lambda: services.create_or_update(request.user, given.validated_data))
        return self._fresh(link, status.HTTP_201_CREATED)

    def update(self, request: Request, pk=None) -> Response:
        link = self.get_object()
        given = BookmarkInputSerializer(data=request.data, partial=request.method == "PATCH")
        given.is_valid(raise_exception=True)
        return self._fresh(self._saved(lambda: services.update(link, given.validated_data)))

    def partial_update(self, request: Request, pk=None) -> Response:
        return self.update(request, pk)

    def destroy(self, request: Request, pk=None) -> Response:
        link_services.bulk_delete(Link.objects.filter(pk=self.get_object().pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk=None) -> Response:
        link_services.bulk_set_archived(Link.objects.filter(pk=self.get_object().pk), True)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk=None) -> Response:
        link_services.bulk_set_archived(Link.objects.filter(pk=self.get_object().pk), False)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=False, methods=["get"])
    def check(self, request: Request) -> Response:
        """Whether the URL is saved; metadata comes from its newest snapshot (no page is fetched here)."""
        link = services.find_saved(request.user, request.query_params.get("url", ""))
        snapshot = latest_snapshot(link) if link is not None else None
        metadata = {
            "url": request.query_params.get("url", ""),
            "title": (snapshot.title or None) if snapshot else None,
            "description": (snapshot.description or None) if snapshot else None,
            "preview_image": (snapshot.og_image_url or None) if snapshot else None,
        }
        return Response({
            "bookmark": self.get_serializer(link).data if link is not None else None,
            "metadata": metadata,
            "auto_tags": services.suggested_tags(link),
        })

    @staticmethod
    def _saved(write) -> Link:
        try:
            return write()
        except ValidationError as error:
            raise serializers.ValidationError(getattr(error, "message_dict", None) or {"url": error.messages}) from None


class UserProfileView(APIView):
    """GET /api/user/profile/ with linkding's documented fields, set to what Linkshot does."""

    def get(self, request: Request) -> Response:
        return Response({
            "theme": "auto",
            "bookmark_date_display": "relative",
            "bookmark_link_target": "_blank",
            "web_archive_integration": "disabled",
            "tag_search": "lax",
            "enable_sharing": False,
            "enable_public_sharing": False,
            "enable_favicons": True,
            "display_url": False,
            "permanent_notes": False,
            "search_preferences": {"sort": "added_desc", "shared": "off", "unread": "off"},
            "version": LINKDING_API_VERSION,
        })
