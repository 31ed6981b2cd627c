"""Short-lived signed tokens that authorise one asset of one snapshot on the separate snapshot origin.

The session cookie of the app origin is not sent to LINKSHOT_SNAPSHOT_ORIGIN, so after the owner
check on the app origin the person is redirected there with a token naming the snapshot, the asset
and the owner; the token expires within minutes.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

from snapshots.models import Snapshot

_SALT = "linkshot.snapshot-asset"
TOKEN_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class AssetGrant:
    snapshot_id: int
    asset: str
    user_id: int


def snapshot_origin() -> str:
    return settings.LINKSHOT_SNAPSHOT_ORIGIN.rstrip("/")


def is_snapshot_origin_request(request: HttpRequest) -> bool:
    """True when the request came in on the configured snapshot origin's host."""
    origin = snapshot_origin()
    return bool(origin) and request.get_host().lower() == urlsplit(origin).netloc.lower()


def sign_asset(snapshot: Snapshot, asset: str) -> str:
    payload = {"s": snapshot.pk, "a": asset, "u": snapshot.link.user_id}
    return signing.dumps(payload, salt=_SALT, compress=True)


def read_grant(token: str) -> AssetGrant | None:
    """The grant carried by a valid, unexpired token; None for anything else."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=TOKEN_MAX_AGE_SECONDS)
        return AssetGrant(snapshot_id=int(payload["s"]), asset=str(payload["a"]), user_id=int(payload["u"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def signed_asset_url(snapshot: Snapshot, asset: str) -> str:
    """Absolute URL of the asset on the snapshot origin, carrying a fresh token."""
    path = reverse("snapshot-asset-signed", kwargs={"token": sign_asset(snapshot, asset)})
    return snapshot_origin() + path
