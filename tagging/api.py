"""REST API for the tag vocabulary; thin views over tagging.services."""
from __future__ import annotations

from django.db.models import Count, QuerySet
from django.db.models.functions import Lower
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.access import get_owned_or_404, owned_by
from config.api_params import ApiPagination, text_params
from config.api_parsers import API_PARSERS
from tagging import services
from tagging.models import Tag
from tagging.serializers import TagMergeSerializer, TagNameSerializer, TagSerializer

ORDERINGS = {
    "name": [Lower("name"), "id"],
    "-name": [Lower("name").desc(), "-id"],
    "count": ["link_count", Lower("name")],
    "-count": ["-link_count", Lower("name")],
}


def ordering_of(request: Request) -> list:
    key = request.query_params.get("ordering") or "name"
    if key not in ORDERINGS:
        raise serializers.ValidationError({"ordering": [f"Use one of: {', '.join(ORDERINGS)}."]})
    return ORDERINGS[key]


@extend_schema_view(
    list=extend_schema(summary="List tags with link counts", parameters=[
        OpenApiParameter("ordering", str, enum=list(ORDERINGS), description="Sort by name (default) or link count."),
        OpenApiParameter("q", str, description="Only tags whose name contains this text (any case)."),
    ]),
    destroy=extend_schema(summary="Delete a tag (its links stay)"),
)
class TagViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = TagSerializer
    pagination_class = ApiPagination
    parser_classes = API_PARSERS

    def get_queryset(self) -> QuerySet[Tag]:
        return owned_by(Tag.objects.all(), self.request.user).annotate(link_count=Count("links"))

    def filter_queryset(self, queryset: QuerySet[Tag]) -> QuerySet[Tag]:
        if self.action != "list":
            return queryset
        for contains in text_params(self.request, "q")[-1:]:
            queryset = queryset.filter(name__icontains=contains)
        return queryset.order_by(*ordering_of(self.request))

    def get_object(self) -> Tag:
        return get_owned_or_404(self.get_queryset(), self.request.user, pk=self.kwargs["pk"])

    def _fresh(self, tag: Tag) -> dict:
        return self.get_serializer(get_owned_or_404(self.get_queryset(), self.request.user, pk=tag.pk)).data

    @extend_schema(summary="Create a tag", request=TagNameSerializer, responses={201: TagSerializer})
    def create(self, request: Request) -> Response:
        given = TagNameSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        tag = services.create_tag(request.user, given.validated_data["name"])
        return Response(self._fresh(tag), status=status.HTTP_201_CREATED)

    @extend_schema(summary="Rename a tag", request=TagNameSerializer, responses=TagSerializer,
                   description="A name another tag already has (in any case) is a 400 naming `name`.")
    def partial_update(self, request: Request, pk=None) -> Response:
        tag = self.get_object()
        given = TagNameSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        services.rename_tag(tag, given.validated_data["name"])
        return Response(self._fresh(tag))

    def perform_destroy(self, instance: Tag) -> None:
        services.delete_tag(instance)

    @extend_schema(summary="Merge this tag into another", request=TagMergeSerializer, responses=TagSerializer,
                   description="Links move to `into`, this tag is deleted; answers with the `into` tag.")
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk=None) -> Response:
        source = self.get_object()
        given = TagMergeSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        target = owned_by(Tag.objects.all(), request.user).filter(pk=given.validated_data["into"]).first()
        if target is None:
            raise serializers.ValidationError({"into": ["You have no tag with this id."]})
        services.merge_tags(source, target)
        return Response(self._fresh(target))
