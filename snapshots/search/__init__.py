"""Search over a user's links: title, description, notes, URL and the captured page text."""
from __future__ import annotations

from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from snapshots.search.query import ParsedQuery, parse_query

SEARCHED_FIELDS = ("title", "description", "notes", "url", "page_text")

__all__ = ["ParsedQuery", "parse_query", "search_links"]


def _matches(term: str) -> Q:
    return reduce(or_, (Q(**{f"{name}__icontains": term}) for name in SEARCHED_FIELDS))


def search_links(links: QuerySet, text: str) -> QuerySet:
    """Filter ``links`` by the search box syntax (see query.py)."""
    parsed = parse_query(text)
    for tag in parsed.tags:
        links = links.filter(tags__name__iexact=tag)
    for term in parsed.terms:
        links = links.filter(_matches(term))
    for term in parsed.excluded:
        links = links.exclude(_matches(term))
    return links.distinct() if parsed.tags else links
