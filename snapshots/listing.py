"""What the link list shows: filters from the query string, cheap pages, snapshot state per row.

The list must stay fast at 100,000 links, so a page is fetched as ``size + 1`` rows (the extra
row only says whether a next page exists; no COUNT over the whole table), and the tag names and
snapshots of the rows on screen come in one flat query each (no model instances for tags:
``prefetch_related`` builds a queryset per link, which cost more than the query itself).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlsplit

from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import QueryDict
from django.urls import reverse
from django.utils.http import urlencode

from snapshots.assets import snapshot_asset_url, snapshot_asset_urls
from snapshots.models import Link, Snapshot
from snapshots.search import search_links
from tagging.models import Tag
from tagging.services import tags_named

PAGE_SIZE = 30
MAX_PAGE = 100_000  # far past any real list; keeps the OFFSET within what databases accept
RARE_TAG_LINKS = 1000  # below this many links a tag filter starts from the tag (see _filter_by_tags)
MAX_TAG_FILTERS = 10  # each tag filter is one more join; more than this is not a real query
ACTIVE_STATUSES = {Snapshot.Status.PENDING, Snapshot.Status.RUNNING}
# Columns the list and the status badge need; the page text and HTML stay in the database.
SNAPSHOT_LIST_FIELDS = (
    "id", "link_id", "status", "error", "attempts", "created_at", "started_at", "finished_at", "http_status",
    "thumbnail", "screenshot", "favicon",
)
# Row links are built from one reverse() per URL name and page, not one per row: at 50 rows
# with four links and a few tag chips each, reversing per row was a large share of the page time.
ROW_ASSETS = ("thumbnail", "favicon")
ROW_URL_NAMES = {"detail": "link-detail", "edit": "link-edit", "delete": "link-delete", "status": "link-status"}
_PK_PLACEHOLDER = "987654321"
SHOW_CHOICES = {
    "": "Active",
    "unread": "Unread",
    "archived": "Archived",
    "all": "All",
}


@dataclass
class ListFilters:
    query: str = ""
    tags: list[str] = field(default_factory=list)
    show: str = ""
    page: int = 1

    @classmethod
    def from_querydict(cls, params: QueryDict) -> "ListFilters":
        show = params.get("show", "")
        tags = [name.strip() for name in params.getlist("tag") if name.strip()]
        return cls(
            query=params.get("q", "").strip(),
            tags=list(dict.fromkeys(tags))[:MAX_TAG_FILTERS],
            show=show if show in SHOW_CHOICES else "",
            page=_page_number(params.get("page")),
        )

    @property
    def is_filtered(self) -> bool:
        return bool(self.query or self.tags or self.show)


def _page_number(raw: str | None) -> int:
    try:
        return min(MAX_PAGE, max(1, int(raw or 1)))
    except ValueError:
        return 1


def filter_links(links: QuerySet[Link], user, filters: ListFilters) -> QuerySet[Link]:
    """Apply the tab, tag and search filters to a user's links (newest first)."""
    links = _apply_show(links, filters.show).order_by("-created_at", "-id")
    if filters.tags:
        links = _filter_by_tags(links, user, filters.tags)
    if filters.query:
        links = search_links(links, filters.query)
    return links


def _filter_by_tags(links: QuerySet[Link], user, names: list[str]) -> QuerySet[Link]:
    """Links carrying every one of ``names``.

    Walking the newest-first index and checking each link's tags is fastest for common tags; for
    a rare tag it means visiting almost every link, so those start from the tag's few links.
    """
    through = Link.tags.through
    for name in names:
        tag_id = tags_named(user, [name]).values_list("pk", flat=True).first()
        if tag_id is None:
            return links.none()  # an unknown tag matches nothing: no need to look at any link
        tagged = through.objects.filter(tag_id=tag_id)
        if tagged[:RARE_TAG_LINKS + 1].count() <= RARE_TAG_LINKS:  # stops counting past the threshold
            links = links.filter(pk__in=tagged.values("link_id"))
        else:
            links = links.filter(tags=tag_id)
    return links


def _apply_show(links: QuerySet[Link], show: str) -> QuerySet[Link]:
    if show == "archived":
        return links.filter(archived=True)
    if show == "unread":
        return links.filter(archived=False, unread=True)
    if show == "all":
        return links
    return links.filter(archived=False)


@dataclass
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def paginate(queryset: QuerySet, number: int, size: int = PAGE_SIZE) -> Page:
    """Slice one page plus one extra row: enough to know whether a next page exists."""
    offset = (number - 1) * size
    rows = list(queryset[offset:offset + size + 1])
    return Page(items=rows[:size], number=number, has_next=len(rows) > size)


class RowUrls:
    """URL builders for the links of list rows, reversed once."""

    def __init__(self) -> None:
        self.patterns = {key: reverse(name, kwargs={"pk": _PK_PLACEHOLDER}) for key, name in ROW_URL_NAMES.items()}
        self.asset_patterns = {name: reverse("snapshot-asset", kwargs={"pk": _PK_PLACEHOLDER, "asset": name})
                               for name in ROW_ASSETS}
        self.list_url = reverse("link-list")
        self.tag_urls: dict[str, str] = {}

    def for_link(self, pk: int) -> dict[str, str]:
        return {key: pattern.replace(_PK_PLACEHOLDER, str(pk)) for key, pattern in self.patterns.items()}

    def for_asset(self, snapshot: Snapshot | None, name: str) -> str:
        """The same URL as snapshots.assets.snapshot_asset_url, for the assets a row shows."""
        if snapshot is None or not getattr(snapshot, name):
            return ""
        return self.asset_patterns[name].replace(_PK_PLACEHOLDER, str(snapshot.pk))

    def for_tag(self, name: str) -> str:
        url = self.tag_urls.get(name)
        if url is None:  # the same few tags recur on a page: encode each once
            url = self.tag_urls[name] = f"{self.list_url}?{urlencode({'tag': name})}"
        return url


@dataclass
class LinkRow:
    """A link with its newest snapshot (the status), its newest complete one (what is shown)
    and its tags with their filter URLs."""
    link: Link
    row_urls: RowUrls
    latest: Snapshot | None = None
    shown: Snapshot | None = None
    tags: list[tuple[str, str]] = field(default_factory=list)
    snippet: str = ""  # searched words in context (snapshots/search/snippets.py), HTML

    @property
    def status(self) -> str:
        return self.latest.status if self.latest else "none"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @cached_property
    def urls(self) -> dict[str, str]:
        return self.row_urls.for_link(self.link.pk)

    @cached_property
    def initial(self) -> str:
        """The placeholder letter: the title's first, else the host's ("example.com" → "E", not "H" of "https")."""
        if self.link.title.strip():
            return self.link.title.strip()[:1].upper()
        host = urlsplit(self.link.url).hostname or ""
        return host.removeprefix("www.")[:1].upper() or "?"

    @cached_property
    def thumbnail_url(self) -> str:
        return self.row_urls.for_asset(self.shown, "thumbnail")

    @cached_property
    def favicon_url(self) -> str:
        return self.row_urls.for_asset(self.shown, "favicon")


def link_rows(links: list[Link], urls: RowUrls | None = None, with_tags: bool = False) -> list[LinkRow]:
    """One query for the snapshots of all links on screen, newest first per link, and with
    ``with_tags`` one for their tag names."""
    urls = urls or RowUrls()
    rows = {link.pk: LinkRow(link=link, row_urls=urls) for link in links}
    snapshots = (Snapshot.objects.filter(link_id__in=rows.keys())
                 .only(*SNAPSHOT_LIST_FIELDS).order_by("link_id", "-created_at", "-id"))
    for snapshot in snapshots:
        row = rows[snapshot.link_id]
        if row.latest is None:
            row.latest = snapshot
        if row.shown is None and snapshot.status == Snapshot.Status.DONE:
            row.shown = snapshot
    if with_tags and rows:
        for link_id, name in _tag_names(rows.keys()):
            rows[link_id].tags.append((name, urls.for_tag(name)))
    return [rows[link.pk] for link in links]


def _tag_names(link_ids) -> QuerySet:
    """(link id, tag name) pairs of the given links, names in the tag list's order."""
    return (Link.tags.through.objects.filter(link_id__in=link_ids)
            .order_by(Lower("tag__name")).values_list("link_id", "tag__name"))


def link_row(link: Link) -> LinkRow:
    return link_rows([link])[0]


def asset_url(snapshot: Snapshot | None, name: str) -> str:
    """URL of one stored asset, or "" when there is no snapshot or it did not keep that asset."""
    return (snapshot_asset_url(snapshot, name) or "") if snapshot is not None else ""


def asset_urls(snapshot: Snapshot) -> dict[str, str]:
    """URLs of the assets a fully loaded snapshot kept, by asset name."""
    return {name: url for name, url in snapshot_asset_urls(snapshot).items() if url}


def query_url(params: QueryDict, **changes) -> str:
    """The list URL with some query parameters replaced (None removes one)."""
    updated = params.copy()
    for key, value in changes.items():
        if value is None:
            updated.pop(key, None)
        elif isinstance(value, list):
            updated.setlist(key, value)
        else:
            updated[key] = str(value)
    encoded = updated.urlencode()
    return f"{reverse('link-list')}?{encoded}" if encoded else reverse("link-list")
