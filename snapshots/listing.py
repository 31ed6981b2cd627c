"""What the link list shows: filters from the query string, cheap pages, snapshot state per row.

The list must stay fast at 100,000 links, so a page is fetched as ``size + 1`` rows (the extra
row only says whether a next page exists; no COUNT over the whole table), and the tags and
snapshots of the rows on screen come in one query each.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse

from snapshots.assets import snapshot_asset_url, snapshot_asset_urls
from snapshots.models import Link, Snapshot
from snapshots.search import search_links
from tagging.models import Tag

PAGE_SIZE = 50
ACTIVE_STATUSES = {Snapshot.Status.PENDING, Snapshot.Status.RUNNING}
# Columns the list and the status badge need; the page text and HTML stay in the database.
SNAPSHOT_LIST_FIELDS = (
    "id", "link_id", "status", "error", "attempts", "created_at", "started_at", "finished_at",
    "thumbnail", "screenshot", "favicon",
)
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
            tags=list(dict.fromkeys(tags)),
            show=show if show in SHOW_CHOICES else "",
            page=_page_number(params.get("page")),
        )

    @property
    def is_filtered(self) -> bool:
        return bool(self.query or self.tags or self.show)


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def filter_links(links: QuerySet[Link], user, filters: ListFilters) -> QuerySet[Link]:
    """Apply the tab, tag and search filters to a user's links (newest first)."""
    links = _apply_show(links, filters.show).order_by("-created_at", "-id")
    for name in filters.tags:
        tag_ids = Tag.objects.filter(user=user, name__iexact=name).values("pk")
        links = links.filter(tags__in=tag_ids)
    if filters.query:
        links = search_links(links, filters.query)
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


@dataclass
class SnapshotState:
    """A link's newest snapshot (its status) and newest complete one (what is shown)."""
    link: Link
    latest: Snapshot | None = None
    shown: Snapshot | None = None

    @property
    def status(self) -> str:
        return self.latest.status if self.latest else "none"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def thumbnail_url(self) -> str:
        return asset_url(self.shown, "thumbnail")

    @property
    def favicon_url(self) -> str:
        return asset_url(self.shown, "favicon")


def snapshot_states(links: list[Link]) -> list[SnapshotState]:
    """One query for the snapshots of all links on screen, newest first per link."""
    states = {link.pk: SnapshotState(link=link) for link in links}
    snapshots = (Snapshot.objects.filter(link_id__in=states.keys())
                 .only(*SNAPSHOT_LIST_FIELDS).order_by("link_id", "-created_at", "-id"))
    for snapshot in snapshots:
        state = states[snapshot.link_id]
        if state.latest is None:
            state.latest = snapshot
        if state.shown is None and snapshot.status == Snapshot.Status.DONE:
            state.shown = snapshot
    return [states[link.pk] for link in links]


def snapshot_state(link: Link) -> SnapshotState:
    return snapshot_states([link])[0]


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
