"""REST API for links and their snapshots; thin views over snapshots.links.services and capture_jobs."""
from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.access import get_owned_or_404, owned_by
from config.api_params import ApiPagination, parse_flag, text_params
from config.api_parsers import API_PARSERS
from snapshots.api.serializers import (
    SHOWN_SNAPSHOT_ATTR,
    LinkCreateSerializer,
    LinkSerializer,
    LinkUpdateSerializer,
    SnapshotSerializer,
)
from snapshots.capture_jobs.queue import request_snapshot
from snapshots.links import services
from snapshots.links.queries import MAX_TAG_FILTERS, LinkQuery, query_links
from snapshots.links.shown import NEWEST_FIRST, has_asset, pick_snapshots
from snapshots.models import Link, Snapshot
from snapshots.replay import signing
from snapshots.replay.asset_types import ASSET_NAMES
from snapshots.replay.views import asset_response
from tagging.names import tag_key
from tagging.suggestions.service import with_pending

# Snapshot columns the API never shows. The page text is loaded: its URL is given only when it exists.
_UNSHOWN_SNAPSHOT_FIELDS = ("description", "sizes", "timings", "notes")


def capped_tag_filters(request: Request) -> list[str]:
    """?tag= values, each once, at most MAX_TAG_FILTERS like the web list; the list says when it capped."""
    distinct: dict[str, str] = {}
    for tag in text_params(request, "tag"):
        distinct.setdefault(tag_key(tag), tag)
    tags = list(distinct.values())
    if len(tags) > MAX_TAG_FILTERS:
        request.linkshot_notes = [f"Only the first {MAX_TAG_FILTERS} of the {len(tags)} tag filters were "
                                  "applied."]
    return tags[:MAX_TAG_FILTERS]


def filter_links(links: QuerySet[Link], request: Request) -> QuerySet[Link]:
    """Apply ?q= (search syntax), ?tag= (repeatable, ANDed, case-insensitive) and the flags."""
    query = LinkQuery(
        text=(text_params(request, "q") or [""])[-1],
        tags=tuple(capped_tag_filters(request)),
        archived=parse_flag(request, "archived"),
        unread=parse_flag(request, "unread"),
    )
    return query_links(request.user, query, links)


def attach_shown_snapshots(links: list[Link]) -> list[Link]:
    """Give each link of a page the snapshot its JSON carries, with two queries for the whole page."""
    by_link: dict[int, list[Snapshot]] = {}
    for snapshot in (Snapshot.objects.filter(link_id__in=[link.pk for link in links])
                     .only("pk", "link_id", "status").order_by("link_id", *NEWEST_FIRST)):
        by_link.setdefault(snapshot.link_id, []).append(snapshot)
    chosen = {link_id: pick_snapshots(snapshots).shown_or_latest.pk for link_id, snapshots in by_link.items()}
    found = Snapshot.objects.defer(*_UNSHOWN_SNAPSHOT_FIELDS).in_bulk(chosen.values())
    for link in links:
        setattr(link, SHOWN_SNAPSHOT_ATTR, found.get(chosen.get(link.pk)))
    return links


LIST_PARAMETERS = [
    OpenApiParameter("q", str, description='Search: words ANDed, "phrases", -exclude, #tag.'),
    OpenApiParameter("tag", str, many=True, description="Only links with this tag (repeatable, all must match; any case)."),
    OpenApiParameter("archived", bool, description="Only archived (true) or not archived (false) links."),
    OpenApiParameter("unread", bool, description="Only unread (true) or read (false) links."),
]


@extend_schema_view(
    list=extend_schema(summary="List links, newest first", parameters=LIST_PARAMETERS),
    retrieve=extend_schema(summary="Get one link"),
    destroy=extend_schema(summary="Delete a link and its snapshots"),
)
class LinkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                  viewsets.GenericViewSet):
    serializer_class = LinkSerializer
    pagination_class = ApiPagination
    parser_classes = API_PARSERS

    def get_queryset(self) -> QuerySet[Link]:
        links = with_pending(owned_by(Link.objects.all(), self.request.user).prefetch_related("tags"))
        return links.defer("page_text").order_by("-created_at", "-id")

    def filter_queryset(self, queryset: QuerySet[Link]) -> QuerySet[Link]:
        if self.action != "list":
            return queryset
        return filter_links(queryset, self.request)

    def list(self, request: Request) -> Response:
        page = attach_shown_snapshots(list(self.paginate_queryset(self.filter_queryset(self.get_queryset()))))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def get_object(self) -> Link:
        return get_owned_or_404(self.get_queryset(), self.request.user, pk=self.kwargs["pk"])

    def _fresh(self, link: Link) -> dict:
        """The link as stored now (tags refetched after the service changed them)."""
        stored = get_owned_or_404(self.get_queryset(), self.request.user, pk=link.pk)
        return self.get_serializer(stored).data

    @extend_schema(
        summary="Save a link",
        description="201 with the new link; 200 with the existing link (new tags merged in) "
                    "when the URL was saved before.",
        request=LinkCreateSerializer,
        responses={201: LinkSerializer, 200: LinkSerializer},
    )
    def create(self, request: Request) -> Response:
        given = LinkCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        result = services.save_link(
            request.user, data["url"], title=data["title"], description=data["description"],
            notes=data["notes"], tag_names=data["tags"],
        )
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(self._fresh(result.link), status=code)

    @extend_schema(summary="Edit a link", request=LinkUpdateSerializer, responses=LinkSerializer,
                   description="Only given fields change; given tags replace the link's tags.")
    def partial_update(self, request: Request, pk=None) -> Response:
        link = self.get_object()
        given = LinkUpdateSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        fields = dict(given.validated_data)
        tag_names = fields.pop("tags", None)
        services.update_link(link, tag_names=tag_names, **fields)
        return Response(self._fresh(link))

    def perform_destroy(self, instance: Link) -> None:
        services.bulk_delete(Link.objects.filter(pk=instance.pk))  # the one delete path of links

    @extend_schema(summary="Capture the link again", request=None,
                   responses={202: SnapshotSerializer},
                   description="Adds a pending snapshot and queues its capture; older snapshots are kept.")
    @action(detail=True, methods=["post"])
    def snapshot(self, request: Request, pk=None) -> Response:
        snapshot = request_snapshot(self.get_object())
        body = SnapshotSerializer(snapshot, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Snapshot history of a link, newest first",
                   responses=SnapshotSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=ApiPagination)
    def snapshots(self, request: Request, pk=None) -> Response:
        history = self.get_object().snapshots.defer(*_UNSHOWN_SNAPSHOT_FIELDS).order_by("-created_at", "-id")
        page = self.paginate_queryset(history)
        context = self.get_serializer_context()
        return self.get_paginated_response(SnapshotSerializer(page, many=True, context=context).data)


@extend_schema(
    summary="Download one asset of a snapshot",
    description="Works with the API token or a browser session. Captured HTML is served sandboxed "
                "(or redirected to the snapshot origin when one is configured); MHTML and PDF are downloads.",
    parameters=[OpenApiParameter("asset", str, OpenApiParameter.PATH, enum=list(ASSET_NAMES))],
    responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 302: None, 404: None},
)
class SnapshotAssetView(APIView):
    def get(self, request: Request, pk: int, asset: str) -> HttpResponse:
        if asset not in ASSET_NAMES:
            raise Http404("No such snapshot asset.")
        link = get_owned_or_404(Link.objects.all(), request.user, snapshots__pk=pk)
        snapshot = link.snapshots.select_related("link").get(pk=pk)
        if not has_asset(snapshot, asset):
            raise Http404("This snapshot did not keep that asset.")
        if asset == "html" and signing.snapshot_origin():
            return HttpResponseRedirect(signing.signed_asset_url(snapshot, asset))
        return asset_response(snapshot, asset)
