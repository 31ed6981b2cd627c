"""Full-text search over a user's links: title, description, notes, URL and the captured page text.

``matching_words(links, parsed)`` narrows a Link queryset by the words of a parsed search box
query (query.py); snapshots/links/queries.py applies it together with the tag and flag filters,
and the caller orders and paginates. Matching uses the full-text index of index.py: FTS5 on SQLite, a
GIN-indexed tsvector on Postgres, with the same rules:

* a term matches a link when its words appear in that order, adjacent, in the link's document;
  the last word of each term also matches longer words ("pyth" finds "python", "example.co"
  finds "example.com");
* case and accents are ignored ("Café" = "cafe");
* ``a OR b`` matches links matching either term (OR binds the terms next to it);
* ``-term`` drops links matching the term (``#tag`` terms are snapshots/links/queries.py's);
* a query without words (empty, or only punctuation) filters nothing.
"""
from __future__ import annotations

from django.db import connections
from django.db.models import QuerySet

from snapshots.search import backends
from snapshots.search.query import ParsedQuery, parse_query, words

__all__ = ["ParsedQuery", "matching_words", "parse_query"]


def matching_words(links: QuerySet, parsed: ParsedQuery) -> QuerySet:
    """Filter ``links`` by the words and phrases of ``parsed`` (its tags are left to the caller)."""
    required = [group for group in ([w for w in map(words, terms) if w] for terms in parsed.groups) if group]
    excluded = [w for w in (words(term) for term in parsed.excluded) if w]
    if not (required or excluded):
        return links
    vendor = connections[links.db].vendor
    return backends.full_text(vendor)(links, required, excluded)
