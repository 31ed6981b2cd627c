"""The one query behind every list of links: the web list, the REST API and search.

A :class:`LinkQuery` says which of a person's links to list (search text, tags, the archived and
unread flags); :func:`query_links` turns it into a queryset of that person's links, newest first.
Callers only shape what they load (``defer``, ``prefetch_related``) and how they paginate, so the
web list and the API always agree on what a filter means.

A tag filter, whether it comes from ``?tag=`` or from ``#tag`` in the search box, matches the
person's tag of that name in any case, non-ASCII too: through the stored case-folded key
(``Tag.name_key``, tagging.names.tag_key), so SQLite and Postgres agree. Several tags are ANDed.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from config.access import owned_by
from snapshots import search
from snapshots.models import Link
from tagging.services import tags_named

# A tag with at most this many links is "rare": its few links are listed once and the newest-first
# walk keeps those. A common tag is checked per link as the walk goes, which fills a page quickly.
RARE_TAG_LINKS = 1000
MAX_TAG_FILTERS = 10  # each tag filter is one more join; more than this is not a real query


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
    """Links carrying the user's tag called ``name`` (any case); several calls AND.

    The case-folded key is unique per user, so a name is at most one tag.
    """
    tag_id = tags_named(user, [name]).values_list("pk", flat=True).first()
    if tag_id is None:
        return links.none()  # an unknown tag matches nothing: no need to look at any link
    tagged = Link.tags.through.objects.filter(tag_id=tag_id)
    if tagged[:RARE_TAG_LINKS + 1].count() <= RARE_TAG_LINKS:  # stops counting past the threshold
        return links.filter(pk__in=tagged.values("link_id"))
    return links.filter(tags=tag_id)  # a join probes the (link, tag) index, a little faster than EXISTS
