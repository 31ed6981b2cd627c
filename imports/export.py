"""Exports of a person's links, written as a stream (one chunk of links in memory at a time).

Netscape HTML follows linkding's dialect (TAGS, TOREAD, notes as [linkding-notes], archived as the
tag ``linkding:bookmarks.archived``) so the file also imports into linkding and back into Linkshot.
The JSON format (imports/parsing/linkshot_json.py) also carries exact timestamps and the newest
snapshot's metadata.
"""
from __future__ import annotations

import html
import json
from collections.abc import Iterator

from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from django.utils import timezone

from imports.parsing.linkshot_json import FORMAT_NAME, FORMAT_VERSION
from imports.parsing.netscape import ARCHIVED_TAG, NOTES_END, NOTES_START
from snapshots.links.shown import latest_snapshot
from snapshots.models import Link, Snapshot

CHUNK = 500
NETSCAPE_HEAD = """<!DOCTYPE NETSCAPE-Bookmark-file-1>
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<TITLE>Bookmarks</TITLE>
<H1>Bookmarks</H1>
<DL><p>
"""


def _links(user) -> Iterator[Link]:
    # Tags and snapshots come with each chunk (three queries per chunk, none per link).
    snapshots = Prefetch("snapshots", queryset=Snapshot.objects.defer("text", "sizes", "timings", "notes"))
    links = Link.objects.filter(user=user).defer("page_text").prefetch_related("tags", snapshots)
    return links.order_by("created_at", "id").iterator(chunk_size=CHUNK)


def netscape_html(user) -> Iterator[str]:
    yield NETSCAPE_HEAD
    for link in _links(user):
        yield _netscape_entry(link)
    yield "</DL><p>\n"


def _netscape_entry(link: Link) -> str:
    tags = [tag.name for tag in link.tags.all()] + ([ARCHIVED_TAG] if link.archived else [])
    line = (f'<DT><A HREF="{html.escape(link.url)}" ADD_DATE="{int(link.created_at.timestamp())}" '
            f'LAST_MODIFIED="{int(link.updated_at.timestamp())}" PRIVATE="1" TOREAD="{int(link.unread)}" '
            f'TAGS="{html.escape(",".join(tags))}">{html.escape(link.title)}</A>\n')
    description = html.escape(link.description)
    if link.notes:
        description += f"{NOTES_START}{html.escape(link.notes)}{NOTES_END}"
    return line + (f"<DD>{description}\n" if description else "")


def linkshot_json(user) -> Iterator[str]:
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "exported_at": timezone.now().isoformat()}
    yield json.dumps(header)[:-1] + ', "links": [\n'
    first = True
    for link in _links(user):
        yield ("" if first else ",\n") + json.dumps(_json_entry(link), ensure_ascii=False)
        first = False
    yield "\n]}\n"


def _json_entry(link: Link) -> dict:
    return {
        "url": link.url, "title": link.title, "description": link.description, "notes": link.notes,
        "tags": [tag.name for tag in link.tags.all()], "unread": link.unread, "archived": link.archived,
        "created_at": link.created_at.isoformat(), "updated_at": link.updated_at.isoformat(),
        "snapshot": _snapshot_meta(latest_snapshot(link)),
    }


def _snapshot_meta(snapshot: Snapshot | None) -> dict | None:
    if snapshot is None:
        return None
    return {
        "status": snapshot.status, "captured_at": snapshot.finished_at.isoformat() if snapshot.finished_at else None,
        "final_url": snapshot.final_url, "http_status": snapshot.http_status,
        "content_type": snapshot.content_type, "title": snapshot.title, "description": snapshot.description,
        "language": snapshot.language,
    }


EXPORTS = {
    "html": (netscape_html, "text/html; charset=utf-8", "html"),
    "json": (linkshot_json, "application/json", "json"),
}


def download(user, kind: str) -> StreamingHttpResponse:
    """The export as a streamed attachment; an unknown kind gets the HTML export."""
    write, content_type, extension = EXPORTS.get(kind, EXPORTS["html"])
    response = StreamingHttpResponse(write(user), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="linkshot-{timezone.now():%Y-%m-%d}.{extension}"'
    return response
