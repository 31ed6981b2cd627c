"""The one query behind every list of links: the web list, the REST API and search.

A :class:`LinkQuery` says which of a person's links to list (search text, tags, the archived and
unread flags); :func:`query_links` turns it into a queryset of that person's links, newest first.
Callers only shape what they load (``defer``, ``prefetch_related``) and how they paginate, so the
web list and the API always agree on what a filter means.

A tag filter, whether it comes from ``?tag=`` or from ``#tag`` in the search box, matches the
person's tag of that name in any case (non-ASCII too: SQLite's LIKE folds only ASCII, its REGEXP
is Python's ``re``). Several tags are ANDed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from config.access import owned_by
from snapshots import search
from snapshots.models import Link
from tagging.models import Tag

# A tag with at most this many links is "rare": its few links are listed once and the newest-first
# walk keeps those. A common tag is checked per link as the walk goes, which fills a page quickly.
RARE_TAG_LINKS = 1000


@dataclass(frozen=True)
class LinkQuery:
    text: str = ""  # the search box syntax (snapshots/search/query.py)
    tags: tuple[str, ...] = ()  # all must match, any case
    archived: bool | None = None  # None: either
    unread: bool | None = None


def query_links(user, query: LinkQuery, links: QuerySet[Link] | None = None) -> QuerySet[Link]:
    """The links of ``user`` that ``query`` selects, newest first.

    ``links`` narrows or shapes the starting queryset (deferred columns, prefetches); only the
    user's own links are ever returned.
    """
    links = owned_by(Link.objects.all() if links is None else links, user)
    for flag in ("archived", "unread"):
        value = getattr(query, flag)
        if value is not None:
            links = links.filter(**{flag: value})
    parsed = search.parse_query(query.text)
    for name in (*query.tags, *parsed.tags):
        links = links_tagged(links, user, name)
    return search.matching_words(links, parsed).order_by("-created_at", "-id")


def links_tagged(links: QuerySet[Link], user, name: str) -> QuerySet[Link]:
    """Links carrying the user's tag called ``name`` (any case); several calls AND."""
    tag_ids = list(Tag.objects.filter(user=user, name__iregex=f"^{re.escape(name)}$").values_list("pk", flat=True))
    if not tag_ids:
        return links.none()  # an unknown tag matches nothing: no need to look at any link
    tagged = Link.tags.through.objects.filter(tag_id__in=tag_ids)
    if tagged[:RARE_TAG_LINKS + 1].count() <= RARE_TAG_LINKS:  # stops counting past the threshold
        return links.filter(pk__in=tagged.values("link_id"))
    if len(tag_ids) == 1:  # the usual case: a join probes the (link, tag) index, a little faster than EXISTS
        return links.filter(tags=tag_ids[0])
    # Two tags one name apart in case only (SQLite's lower() folds ASCII only): EXISTS lists a link once.
    return links.filter(Exists(tagged.filter(link_id=OuterRef("pk"))))
