"""Serving captured assets. Captured pages are hostile: HTML is sandboxed into an opaque origin
(no scripts, no access to the app's cookies or API), nothing is content-sniffed, and archives are
downloads rather than documents the browser would render on the app's origin."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import FileResponse
from django.views.decorators.clickjacking import xframe_options_exempt, xframe_options_sameorigin
from django.views.decorators.http import require_safe

from config.access import get_owned_or_404
from snapshots.models import Link, Snapshot
from snapshots.replay import signing
from snapshots.replay.asset_types import ASSET_NAMES, DOWNLOAD_ASSETS, content_type_for

# No allow-* tokens: scripts, forms, popups and same-origin access are all off for captured content.
SANDBOX_CSP = "sandbox"


@require_safe
@login_required
@xframe_options_sameorigin
def snapshot_asset(request: HttpRequest, pk: int, asset: str) -> HttpResponse:
    """One asset of the person's own snapshot; anyone else's snapshot answers 404."""
    if asset not in ASSET_NAMES:
        raise Http404("No such snapshot asset.")
    link = get_owned_or_404(Link.objects, request.user, snapshots__pk=pk)
    snapshot = link.snapshots.select_related("link").get(pk=pk)
    if asset == "html" and signing.snapshot_origin() and not signing.is_snapshot_origin_request(request):
        return HttpResponseRedirect(signing.signed_asset_url(snapshot, asset))
    return asset_response(snapshot, asset)


@require_safe
@xframe_options_exempt
def signed_snapshot_asset(request: HttpRequest, token: str) -> HttpResponse:
    """An asset on the snapshot origin, authorised by a short-lived token instead of the session."""
    if not signing.is_snapshot_origin_request(request):
        raise Http404("Signed snapshot links are served only on the snapshot origin.")
    grant = signing.read_grant(token)
    if grant is None or grant.asset not in ASSET_NAMES:
        raise Http404("This snapshot link has expired or is not valid.")
    snapshot = (Snapshot.objects.select_related("link")
                .filter(pk=grant.snapshot_id, link__user_id=grant.user_id).first())
    if snapshot is None:
        raise Http404("No snapshot matches the given query.")
    return asset_response(snapshot, grant.asset)


def asset_response(snapshot: Snapshot, asset: str) -> HttpResponse:
    response = _text_response(snapshot) if asset == "text" else _file_response(snapshot, asset)
    response["Content-Security-Policy"] = SANDBOX_CSP
    response["X-Content-Type-Options"] = "nosniff"
    # Links inside a captured page must not leak the snapshot URL (or its token) to other sites.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, max-age=3600"
    if asset != "html":
        response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _text_response(snapshot: Snapshot) -> HttpResponse:
    if not snapshot.text:
        raise Http404("This snapshot has no readable text.")
    return HttpResponse(snapshot.text, content_type="text/plain; charset=utf-8")


def _file_response(snapshot: Snapshot, asset: str) -> FileResponse:
    field = getattr(snapshot, asset)
    if not field:
        raise Http404("This snapshot did not keep that asset.")
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404("The stored file of this asset is missing.") from None
    download = asset in DOWNLOAD_ASSETS
    extension = field.name.rsplit(".", 1)[-1]
    return FileResponse(handle, content_type=content_type_for(field.name), as_attachment=download,
                        filename=f"linkshot-{snapshot.link_id}-{snapshot.pk}.{extension}")
