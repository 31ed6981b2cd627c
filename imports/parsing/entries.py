"""What a bookmark file entry becomes once parsed, whatever the file format."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

# Parsed text is capped while it is read, so one huge entry cannot grow memory with the file.
MAX_TITLE_CHARS = 512
MAX_TEXT_CHARS = 100_000
MAX_URL_CHARS = 4096


class BadFile(Exception):
    """The file as a whole cannot be read (wrong type, corrupt); entries read before it are kept."""


@dataclass
class Entry:
    position: int  # 1-based number of the entry in the file
    url: str
    title: str = ""
    description: str = ""
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # enclosing folder names, outermost first
    added: datetime | None = None
    modified: datetime | None = None
    unread: bool = False
    archived: bool = False
    problems: list[str] = field(default_factory=list)  # noticed while parsing; the entry is still tried


def timestamp(raw: str | int | float | None) -> datetime | None:
    """A Unix timestamp in seconds (browsers) or microseconds (some exporters); None if unusable."""
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    if value > 1e14:  # microseconds (Chrome's Netscape export of some versions, Firefox JSON)
        value /= 1_000_000
    elif value > 1e11:  # milliseconds
        value /= 1000
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc) if value > 0 else None
    except (OverflowError, OSError, ValueError):
        return None


def iso_datetime(raw) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]
