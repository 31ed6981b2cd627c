"""Search over a user's links: title, description, notes, URL and the captured page text.

``search_links(links, text)`` narrows a Link queryset (normally the user's own links) by the
search box syntax of query.py; the caller orders and paginates. Matching uses the full-text
index of index.py: FTS5 on SQLite, a GIN-indexed tsvector on Postgres, with the same rules:

* a term matches a link when its words appear in that order, adjacent, in the link's document;
  the last word of each term also matches longer words ("pyth" finds "python", "example.co"
  finds "example.com");
* case and accents are ignored ("Café" = "cafe");
* ``a OR b`` matches links matching either term (OR binds the terms next to it);
* ``-term`` drops links matching the term; ``#tag`` keeps links carrying that tag
  (case-insensitive, several are ANDed);
* a query without words (empty, or only punctuation) filters nothing.
"""
from __future__ import annotations

from django.db import connections
from django.db.models import QuerySet

from snapshots.search import backends
from snapshots.search.query import ParsedQuery, parse_query, words

__all__ = ["ParsedQuery", "parse_query", "search_links"]


def search_links(links: QuerySet, text: str) -> QuerySet:
    """Filter ``links`` by the search box syntax (see query.py)."""
    parsed = parse_query(text)
    for tag in parsed.tags:
        links = backends.with_tag(links, tag)
    required = [group for group in ([w for w in map(words, terms) if w] for terms in parsed.groups) if group]
    excluded = [w for w in (words(term) for term in parsed.excluded) if w]
    if not (required or excluded):
        return links
    vendor = connections[links.db].vendor
    return backends.full_text(vendor)(links, required, excluded)
