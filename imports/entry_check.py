"""Turning one parsed entry into the fields of a new link, or the reason it is skipped."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError

from imports.parsing.entries import Entry
from snapshots import ssrf
from snapshots.links.url_rules import normalize_url
from tagging.names import MAX_TAG_LENGTH, clean_tag_name

TITLE_MAX = 512


@dataclass
class Checked:
    position: int
    url: str
    title: str
    description: str
    notes: str
    tags: list[str]
    added: datetime | None
    modified: datetime | None
    unread: bool
    archived: bool
    notes_on_entry: list[str] = field(default_factory=list)  # imported, but something was dropped


@dataclass
class Skipped:
    position: int
    url: str
    reason: str


def check_entry(entry: Entry, folders_as_tags: bool) -> Checked | Skipped:
    try:
        url = normalize_url(entry.url)
    except ValidationError as error:
        return Skipped(entry.position, entry.url[:2048], f"Not a valid URL: {' '.join(error.messages)}")
    refused = _refused(url)
    if refused:
        return Skipped(entry.position, url, f"This address cannot be captured: {refused}")
    problems = list(entry.problems)
    names = entry.tags + ([_folder_tag(name) for name in entry.folders] if folders_as_tags else [])
    tags = _clean_tags(names, problems)
    return Checked(entry.position, url, entry.title[:TITLE_MAX].strip(), entry.description.strip(),
                   entry.notes, tags, entry.added, entry.modified, entry.unread, entry.archived, problems)


def _refused(url: str) -> str | None:
    """The SSRF refusal for an address written in the URL itself (IP literal, localhost).

    Host names are not looked up during an import (ten thousand lookups would stall it); the
    capture worker checks every address it connects to, so a name resolving inward still fails there.
    """
    try:
        ssrf.check_url(url, settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS, resolver=_literal_only)
    except ssrf.HostNotFound:
        return None
    except ssrf.UnsafeURL as exc:
        return str(exc)
    return None


def _literal_only(host, port, family=0, type=0, proto=0, flags=0):
    name = str(host).rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        name = "127.0.0.1"
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        raise socket.gaierror(socket.EAI_NONAME, "not looked up during an import") from None
    return socket.getaddrinfo(name, port, family, type, proto, flags | socket.AI_NUMERICHOST)


def _folder_tag(name: str) -> str:
    """A folder name as a tag: commas separate tags, so they become spaces; long names are cut."""
    return name.replace(",", " ").strip()[:MAX_TAG_LENGTH]


def _clean_tags(names: list[str], problems: list[str]) -> list[str]:
    seen: set[str] = set()
    tags = []
    for raw in names:
        try:
            name = clean_tag_name(raw)
        except ValidationError as error:
            problems.append(f"Tag dropped: {' '.join(error.messages)}")
            continue
        if name.lower() not in seen:
            seen.add(name.lower())
            tags.append(name)
    return tags
