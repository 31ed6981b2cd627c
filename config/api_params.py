"""Query parameters and pagination shared by every REST API view (links, tags, and what comes next)."""
from __future__ import annotations

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination, PageNumberPagination
from rest_framework.request import Request

from config.env import parse_bool


class ApiPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_paginated_response(self, data):
        # A view that narrowed the request (e.g. capped its tag filters) says so in "notes".
        response = super().get_paginated_response(data)
        notes = getattr(self.request, "linkshot_notes", None)
        if notes:
            response.data["notes"] = notes
        return response


class LimitOffset(LimitOffsetPagination):
    default_limit = 100  # linkding's default
    max_limit = 5000  # linkding's browser extension asks for 5,000 tags at once


class PageOrLimitPagination(ApiPagination):
    """Page numbers (Linkshot's style), or ?limit=&offset= (linkding's) when either is given.

    Both answer the same envelope: count, next, previous, results.
    """

    def paginate_queryset(self, queryset, request, view=None):
        self.by_offset = LimitOffset() if {"limit", "offset"} & set(request.query_params) else None
        if self.by_offset is not None:
            return self.by_offset.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self.by_offset is not None:
            return self.by_offset.get_paginated_response(data)
        return super().get_paginated_response(data)


def parse_flag(request: Request, name: str) -> bool | None:
    """Read a true/false query parameter; anything else is a 400 naming the parameter."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_bool(raw)
    except ValueError:
        raise serializers.ValidationError({name: [f"Use true or false, not {raw[:20]!r}."]}) from None


def text_params(request: Request, name: str) -> list[str]:
    """Non-empty values of a text query parameter; NUL characters (no database stores them) are a 400."""
    values = [value.strip() for value in request.query_params.getlist(name)]
    if any("\x00" in value for value in values):
        raise serializers.ValidationError({name: ["The text contains a NUL character."]})
    return [value for value in values if value]
