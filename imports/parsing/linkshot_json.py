"""Linkshot's own JSON export format, read as a stream (ijson) so memory stays flat.

    {"format": "linkshot-links", "version": 1, "exported_at": "…",
     "links": [{"url": …, "title": …, "description": …, "notes": …, "tags": […],
                "unread": false, "archived": false, "created_at": "…", "updated_at": "…",
                "snapshot": {…} | null}, …]}

Only the "links" array is read on import; the snapshot metadata is informative (a new capture is
made in the receiving account).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import ijson

from imports.parsing.entries import (
    MAX_TEXT_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS, BadFile, Entry, capped, iso_datetime,
)

FORMAT_NAME = "linkshot-links"
FORMAT_VERSION = 1


def read_entries(stream: BinaryIO) -> Iterator[Entry]:
    """Yield the links of an export in order; BadFile when the JSON is broken or not ours."""
    position = 0
    try:
        for item in ijson.items(stream, "links.item", use_float=True):
            position += 1
            yield entry_from(position, item)
    except ijson.common.IncompleteJSONError as exc:
        raise BadFile(f"The JSON ends early or is malformed after link {position} ({_short(exc)}); "
                      "the links before it were read.") from None
    except ijson.common.JSONError as exc:
        raise BadFile(f"The JSON is malformed after link {position} ({_short(exc)}).") from None
    if position == 0:
        raise BadFile('No links found: a Linkshot JSON export has a "links" list.')


def entry_from(position: int, item) -> Entry:
    if not isinstance(item, dict):
        return Entry(position=position, url="", problems=["This entry is not a JSON object."])
    entry = Entry(position=position, url=capped(_text(item.get("url")).strip(), MAX_URL_CHARS))
    entry.title = capped(_text(item.get("title")), MAX_TITLE_CHARS)
    entry.description = capped(_text(item.get("description")), MAX_TEXT_CHARS)
    entry.notes = capped(_text(item.get("notes")), MAX_TEXT_CHARS)
    tags = item.get("tags") or []
    entry.tags = [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []
    entry.unread = item.get("unread") is True
    entry.archived = item.get("archived") is True
    entry.added = iso_datetime(item.get("created_at"))
    entry.modified = iso_datetime(item.get("updated_at"))
    return entry


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _short(exc: Exception) -> str:
    return str(exc)[:120]
