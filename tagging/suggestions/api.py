"""REST API of tag suggestions: accept or reject a link's suggestions, list pending ones."""
from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.access import get_owned_or_404, owned_by
from config.api_parsers import API_PARSERS
from snapshots.models import Link
from tagging.models import TagSuggestion
from tagging.serializers import PendingSuggestionSerializer, SuggestionDecisionSerializer, SuggestionSerializer
from tagging.suggestions import service as suggestions


class SuggestionPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class _Decision(APIView):
    parser_classes = API_PARSERS
    decide = None  # suggestions.accept or suggestions.reject

    def post(self, request: Request, pk: int) -> Response:
        link = get_owned_or_404(Link.objects.all(), request.user, pk=pk)
        given = SuggestionDecisionSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        type(self).decide(link, given.validated_data["tags"])
        return Response({"tags": sorted(link.tags.values_list("name", flat=True), key=str.lower),
                         "suggestions": SuggestionSerializer(suggestions.pending_of(link), many=True).data})


DECISION_RESPONSE = {"type": "object", "properties": {
    "tags": {"type": "array", "items": {"type": "string"}},
    "suggestions": {"type": "array", "items": {"type": "object"}}}}


class AcceptSuggestions(_Decision):
    decide = suggestions.accept

    @extend_schema(summary="Accept suggested tags", request=SuggestionDecisionSerializer,
                   responses={200: DECISION_RESPONSE},
                   description="Applies each named suggestion's tag (a proposed name becomes a new tag). "
                               "A name that is not suggested for the link is a 400 naming `tags`.")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class RejectSuggestions(_Decision):
    decide = suggestions.reject

    @extend_schema(summary="Reject suggested tags", request=SuggestionDecisionSerializer,
                   responses={200: DECISION_RESPONSE},
                   description="Remembered: a rejected tag is never suggested for this link again.")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class PendingSuggestions(generics.ListAPIView):
    serializer_class = PendingSuggestionSerializer
    pagination_class = SuggestionPagination

    @extend_schema(summary="Pending suggestions across links, best first", parameters=[
        OpenApiParameter("tag", str, description="Only suggestions of this tag (any case)."),
        OpenApiParameter("min_score", float, description="Only suggestions scoring at least this (0 to 1)."),
    ])
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[TagSuggestion]:
        pending = owned_by(TagSuggestion.objects.filter(state=TagSuggestion.State.PENDING), self.request.user)
        tag = (self.request.query_params.get("tag") or "").strip()
        if tag:
            pending = pending.filter(name__iexact=tag)
        floor = self.request.query_params.get("min_score")
        if floor not in (None, ""):
            pending = pending.filter(score__gte=_score(floor))
        return pending.select_related("link").order_by("-score", "id")


def _score(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise serializers.ValidationError({"min_score": ["Use a number between 0 and 1."]}) from None
    if not 0 <= value <= 1:
        raise serializers.ValidationError({"min_score": ["Use a number between 0 and 1."]})
    return value
