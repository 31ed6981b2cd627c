"""Which snapshot of a link to show, and the URLs of its assets (for the API and the web UI)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from snapshots.models import Link, Snapshot
from snapshots.replay.asset_types import ASSET_NAMES

# The order "newest" means everywhere a link's snapshots are compared.
NEWEST_FIRST = ("-created_at", "-id")


@dataclass(frozen=True)
class LinkSnapshots:
    """The snapshots a link is shown with."""

    latest: Snapshot | None = None  # the newest of any status: its status is the link's status
    shown: Snapshot | None = None  # the newest complete one: its screenshot, text and files are shown

    @property
    def shown_or_latest(self) -> Snapshot | None:
        """What the API reports: the shown snapshot, else (nothing complete yet) the latest, whose status says why."""
        return self.shown or self.latest


def pick_snapshots(newest_first: Iterable[Snapshot]) -> LinkSnapshots:
    """The one rule for which snapshots a link shows, from its snapshots ordered NEWEST_FIRST."""
    latest = None
    for snapshot in newest_first:
        latest = latest or snapshot
        if snapshot.status == Snapshot.Status.DONE:
            return LinkSnapshots(latest=latest, shown=snapshot)
    return LinkSnapshots(latest=latest)


def latest_snapshot(link: Link) -> Snapshot | None:
    """The newest complete snapshot of ``link``, else its newest one of any status, else None.

    Uses ``prefetch_related("snapshots")`` results when present, so list pages make no extra query.
    """
    cache = getattr(link, "_prefetched_objects_cache", {})
    if "snapshots" in cache:
        snapshots = sorted(cache["snapshots"], key=lambda s: (s.created_at, s.pk), reverse=True)
        return pick_snapshots(snapshots).shown_or_latest
    chosen = pick_snapshots(link.snapshots.only("pk", "status").order_by(*NEWEST_FIRST)).shown_or_latest
    return link.snapshots.get(pk=chosen.pk) if chosen is not None else None


def has_asset(snapshot: Snapshot, asset: str) -> bool:
    if asset == "text":
        return bool(snapshot.text)
    return bool(getattr(snapshot, asset))


def snapshot_asset_url(snapshot: Snapshot, asset: str, request: HttpRequest | None = None) -> str | None:
    """The owner-checked URL of one asset, absolute when ``request`` is given; None if not kept."""
    if not has_asset(snapshot, asset):
        return None
    url = reverse("snapshot-asset", kwargs={"pk": snapshot.pk, "asset": asset})
    return request.build_absolute_uri(url) if request is not None else url


def snapshot_asset_urls(snapshot: Snapshot, request: HttpRequest | None = None) -> dict[str, str | None]:
    """URL of every asset name (screenshot, thumbnail, full_page, html, mhtml, pdf, favicon, text)."""
    return {asset: snapshot_asset_url(snapshot, asset, request) for asset in ASSET_NAMES}
