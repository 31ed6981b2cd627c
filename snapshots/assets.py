"""Which snapshot of a link to show, and the URLs of its assets (for the API and the web UI)."""
from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from snapshots.asset_types import ASSET_NAMES
from snapshots.models import Link, Snapshot


def latest_snapshot(link: Link) -> Snapshot | None:
    """The newest complete snapshot of ``link``, else its newest one of any status, else None.

    Uses ``prefetch_related("snapshots")`` results when present, so list pages make no extra query.
    """
    cache = getattr(link, "_prefetched_objects_cache", {})
    if "snapshots" in cache:
        snapshots = sorted(cache["snapshots"], key=lambda s: (s.created_at, s.pk), reverse=True)
        done = [s for s in snapshots if s.status == Snapshot.Status.DONE]
        return (done or snapshots or [None])[0]
    newest = link.snapshots.order_by("-created_at", "-id")
    return newest.filter(status=Snapshot.Status.DONE).first() or newest.first()


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
