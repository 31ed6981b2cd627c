"""Netscape bookmark HTML (browsers, linkding, Pinboard, Karakeep, Linkwarden, Pocket) read as a stream.

The file is fed to ``html.parser`` in chunks and entries are yielded as soon as they are complete,
so memory stays flat however large the file is: only the current entry, the folder names above
it and one chunk are held. The format::

    <DT><H3>Folder</H3>
    <DL><p>
        <DT><A HREF="https://…" ADD_DATE="1600000000" TAGS="a,b" TOREAD="1">Title</A>
        <DD>Description
    </DL><p>
"""
from __future__ import annotations

import codecs
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import BinaryIO

from imports.parsing.entries import (
    MAX_TEXT_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS, BadFile, Entry, capped, timestamp,
)

CHUNK_BYTES = 64 * 1024
# html.parser keeps an unfinished tag in its buffer; a "tag" this long is not a bookmark.
MAX_PENDING_CHARS = 1024 * 1024
# Folder names deeper than this are not used as tags (the entries are still imported).
MAX_FOLDER_DEPTH = 32
ARCHIVED_TAG = "linkding:bookmarks.archived"
NOTES_START, NOTES_END = "[linkding-notes]", "[/linkding-notes]"
_BLOCK_STARTS = {"dt", "dl", "h3", "a", "li", "hr"}


class _BookmarkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ready: list[Entry] = []
        self.folders: list[str | None] = []
        self.depth = 0  # <DL> nesting, counted even past MAX_FOLDER_DEPTH
        self.pending_folder: str | None = None
        self.count = 0
        self.seen_anchor = False
        self._entry: Entry | None = None
        self._text: list[str] | None = None  # where character data goes now
        self._text_len = 0
        self._in = ""  # "a", "dd" or "h3"

    # -- tags --------------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_STARTS or tag == "dd":
            self._end_text()
        if tag in _BLOCK_STARTS:
            self._emit()
        if tag == "a":
            self._start_anchor(dict(attrs))
        elif tag == "dd" and self._entry is not None:
            self._start_text("dd")
        elif tag == "h3":
            self._start_text("h3")
        elif tag == "dl":
            self._open_folder()

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in or tag == "dl":
            self._end_text()
        if tag == "dl":
            self._emit()
            self._close_folder()

    def handle_data(self, data: str) -> None:
        if self._text is not None and self._text_len < MAX_TEXT_CHARS:
            self._text.append(data)
            self._text_len += len(data)

    # -- entries -----------------------------------------------------------------------------
    def _start_anchor(self, attrs: dict[str, str | None]) -> None:
        href = attrs.get("href")
        if href is None:
            return  # a named anchor, not a bookmark
        self.seen_anchor = True
        self.count += 1
        entry = Entry(position=self.count, url=capped((href or "").strip(), MAX_URL_CHARS))
        entry.added = timestamp(attrs.get("add_date") or attrs.get("time_added"))
        entry.modified = timestamp(attrs.get("last_modified"))
        entry.tags = [name for name in (attrs.get("tags") or "").split(",") if name.strip()]
        if ARCHIVED_TAG in entry.tags:  # linkding's spelling of "archived" in this format
            entry.tags = [name for name in entry.tags if name != ARCHIVED_TAG]
            entry.archived = True
        entry.unread = _flag(attrs.get("toread"))
        entry.folders = [name for name in self.folders if name]
        if self.depth > MAX_FOLDER_DEPTH:
            entry.problems.append(f"Folders nest deeper than {MAX_FOLDER_DEPTH} levels here; "
                                  "the deeper folder names were not used as tags.")
        self._entry = entry
        self._start_text("a")

    def _emit(self) -> None:
        if self._entry is not None:
            self.ready.append(self._entry)
            self._entry = None

    def _open_folder(self) -> None:
        self.depth += 1
        if self.depth <= MAX_FOLDER_DEPTH:
            self.folders.append(self.pending_folder)
        self.pending_folder = None

    def _close_folder(self) -> None:
        if self.depth <= MAX_FOLDER_DEPTH and self.folders:
            self.folders.pop()
        self.depth = max(0, self.depth - 1)

    # -- text --------------------------------------------------------------------------------
    def _start_text(self, where: str) -> None:
        self._in, self._text, self._text_len = where, [], 0

    def _end_text(self) -> None:
        if self._text is None:
            return
        raw = capped("".join(self._text), MAX_TEXT_CHARS)
        text = " ".join(raw.split())
        where, self._text, self._in = self._in, None, ""
        if where == "h3":
            self.pending_folder = capped(text, MAX_TITLE_CHARS)
        elif where == "a" and self._entry is not None:
            self._entry.title = capped(text, MAX_TITLE_CHARS)
        elif where == "dd" and self._entry is not None:
            self._entry.description, self._entry.notes = split_notes(raw.strip())


def split_notes(description: str) -> tuple[str, str]:
    """linkding keeps notes inside the description as [linkding-notes]…[/linkding-notes]."""
    if NOTES_START not in description:
        return description, ""
    before, _, rest = description.partition(NOTES_START)
    notes, _, after = rest.partition(NOTES_END)
    return (before + after).strip(), notes


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes"}


def read_entries(stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Entry]:
    """Yield the file's bookmarks in order; BadFile when it is not a bookmark file at all."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parser = _BookmarkParser()
    first = True
    while chunk := stream.read(chunk_bytes):
        if first:
            _check_looks_like_html(chunk)
            first = False
        parser.feed(decoder.decode(chunk))
        if len(parser.rawdata) > MAX_PENDING_CHARS:
            raise BadFile(f"An entry after bookmark {parser.count} is over {MAX_PENDING_CHARS // 1024} KB "
                          "long or never ends; the file stops being readable there.")
        yield from _drain(parser)
    if first:
        raise BadFile("The file is empty.")
    truncated = parser.rawdata.lstrip().startswith("<")
    parser.feed(decoder.decode(b"", final=True))
    parser.close()
    parser._end_text()
    parser._emit()
    yield from _drain(parser)
    if not parser.seen_anchor:
        raise BadFile("No bookmarks found: this is not a Netscape bookmark file (no <A HREF=…> entries).")
    if truncated:
        raise BadFile("The file ends in the middle of a tag (cut off?); the bookmarks before it were read.")


def _drain(parser: _BookmarkParser) -> Iterator[Entry]:
    ready, parser.ready = parser.ready, []
    yield from ready


def _check_looks_like_html(head: bytes) -> None:
    if b"\x00" in head[:4096]:
        raise BadFile("This is a binary file, not a bookmark file (HTML or JSON).")
    if not head.lstrip()[:1] == b"<" and not head.startswith(codecs.BOM_UTF8):
        raise BadFile("This is not an HTML bookmark file (it does not start with a tag).")
