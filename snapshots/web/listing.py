"""What the link list shows: filters from the query string, cheap pages, snapshot state per row.

The list must stay fast at 100,000 links, so a page is fetched as ``size + 1`` rows (the extra
row only says whether a next page exists; no COUNT over the whole table), and the tag names and
snapshots of the rows on screen come in one flat query each (no model instances for tags:
``prefetch_related`` builds a queryset per link, which cost more than the query itself).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from urllib.parse import urlsplit

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from snapshots.links.queries import MAX_TAG_FILTERS, LinkQuery
from snapshots.links.shown import NEWEST_FIRST, pick_snapshots, snapshot_asset_url, snapshot_asset_urls
from snapshots.models import Link, Snapshot
from tagging.models import Analysis

PAGE_SIZE = 30
MAX_PAGE = 100_000  # far past any real list; keeps the OFFSET within what databases accept
ACTIVE_STATUSES = {Snapshot.Status.PENDING, Snapshot.Status.RUNNING}
ACTIVE_ANALYSIS = {Analysis.Status.PENDING, Analysis.Status.RUNNING}
# A finished capture queues its analysis just after its own commit: for this long after a capture, a
# link whose analysis is missing or older than the capture still expects one.
ANALYSIS_GRACE = timedelta(seconds=30)
# Columns the list and the status badge need; the page text and HTML stay in the database.
SNAPSHOT_LIST_FIELDS = (
    "id", "link_id", "status", "error", "attempts", "created_at", "started_at", "finished_at", "http_status",
    "thumbnail", "screenshot", "favicon",
)
# Row links are built from one reverse() per URL name and page, not one per row: at 50 rows
# with four links and a few tag chips each, reversing per row was a large share of the page time.
ROW_ASSETS = ("thumbnail", "favicon")
ROW_URL_NAMES = {"detail": "link-detail", "edit": "link-edit", "delete": "link-delete", "status": "link-status",
                 "accept": "link-suggestions-accept", "suggestions": "link-suggestions"}
_PK_PLACEHOLDER = "987654321"
SHOW_CHOICES = {
    "": "Active",
    "unread": "Unread",
    "archived": "Archived",
    "all": "All",
}
# The archived and unread flags each tab lists.
SHOW_FLAGS: dict[str, dict[str, bool]] = {
    "": {"archived": False},
    "unread": {"archived": False, "unread": True},
    "archived": {"archived": True},
    "all": {},
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

    def as_query(self) -> LinkQuery:
        return LinkQuery(text=self.query, tags=tuple(self.tags), **SHOW_FLAGS[self.show])


def _page_number(raw: str | None) -> int:
    try:
        return min(MAX_PAGE, max(1, int(raw or 1)))
    except ValueError:
        return 1


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
        """The same URL as snapshots.links.shown.snapshot_asset_url, for the assets a row shows."""
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
    def suggestions(self) -> list:
        """Pending tag suggestions, when the rows were loaded with them (tagging.suggestions.panel)."""
        return getattr(self.link, "pending_suggestions", [])

    @cached_property
    def analysis(self):
        """The link's analysis (loaded with the suggestions), None before the first one."""
        try:
            return self.link.analysis
        except ObjectDoesNotExist:
            return None

    @property
    def analysing(self) -> bool:
        """Its suggestions may change soon. A running capture is left out: the status slot polls
        then, and brings the tags along when the capture ends (snapshots.web.views.link_status)."""
        return awaiting_suggestions(self.analysis, self.latest, capture_active=False)

    @cached_property
    def thumbnail_url(self) -> str:
        return self.row_urls.for_asset(self.shown, "thumbnail")

    @cached_property
    def favicon_url(self) -> str:
        return self.row_urls.for_asset(self.shown, "favicon")


def awaiting_suggestions(analysis: Analysis | None, latest: Snapshot | None, capture_active: bool) -> bool:
    """Whether a link's suggestions may still change soon, so a page showing them should ask again."""
    if capture_active or (analysis is not None and analysis.status in ACTIVE_ANALYSIS):
        return True
    if latest is None or latest.finished_at is None or timezone.now() - latest.finished_at > ANALYSIS_GRACE:
        return False
    return analysis is None or analysis.snapshot_id != latest.pk


def link_rows(links: list[Link], urls: RowUrls | None = None, with_tags: bool = False) -> list[LinkRow]:
    """One query for the snapshots of all links on screen, newest first per link, and with
    ``with_tags`` one for their tag names."""
    urls = urls or RowUrls()
    rows = {link.pk: LinkRow(link=link, row_urls=urls) for link in links}
    by_link: dict[int, list[Snapshot]] = {}
    for snapshot in (Snapshot.objects.filter(link_id__in=rows.keys())
                     .only(*SNAPSHOT_LIST_FIELDS).order_by("link_id", *NEWEST_FIRST)):
        by_link.setdefault(snapshot.link_id, []).append(snapshot)
    for link_id, snapshots in by_link.items():
        picked = pick_snapshots(snapshots)
        rows[link_id].latest, rows[link_id].shown = picked.latest, picked.shown
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
