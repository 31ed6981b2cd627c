"""Which reader a file needs, judged from its first bytes."""
from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO

from imports.parsing import linkshot_json, netscape
from imports.parsing.entries import BadFile, Entry

NETSCAPE = "netscape"
JSON = "json"


def detect_format(head: bytes) -> str:
    """"netscape" or "json"; BadFile for anything else (binary, plain text, empty)."""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if not text:
        raise BadFile("The file is empty.")
    if b"\x00" in head:
        raise BadFile("This is a binary file, not a bookmark file (Netscape HTML or Linkshot JSON).")
    if text[:1] in (b"{", b"["):
        return JSON
    if text[:1] == b"<":
        return NETSCAPE
    raise BadFile("This is neither a Netscape bookmark HTML file nor a Linkshot JSON export.")


def read_entries(stream: BinaryIO, file_format: str) -> Iterator[Entry]:
    if file_format == JSON:
        return linkshot_json.read_entries(stream)
    return netscape.read_entries(stream)
