"""Tag name rules: trimmed, inner whitespace collapsed, at most 64 characters, no commas."""
from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

MAX_TAG_LENGTH = 64
_WHITESPACE = re.compile(r"\s+")


def tag_key(name: str) -> str:
    """The form two spellings of one tag share: NFC-composed and case-folded ("ÉTÉ", "été", "Straße"/"STRASSE").

    Computed in Python and stored, so SQLite (whose lower() folds only ASCII) and Postgres agree.
    """
    return unicodedata.normalize("NFC", name).casefold()


def clean_tag_name(raw: str) -> str:
    """Return the canonical spelling of a tag name or raise ValidationError saying why."""
    if not isinstance(raw, str):
        raise ValidationError("Tag names must be strings.")
    name = _WHITESPACE.sub(" ", raw).strip()
    if not name:
        raise ValidationError("Tag names cannot be empty.")
    if "," in name:
        raise ValidationError(f"Tag name {name!r} contains a comma; commas separate tags.")
    if len(name) > MAX_TAG_LENGTH:
        raise ValidationError(f"Tag name {name[:20]!r}… is longer than {MAX_TAG_LENGTH} characters.")
    if any(ord(ch) < 32 for ch in name):
        raise ValidationError("Tag names cannot contain control characters.")
    return name


def clean_tag_names(raw_names: list[str]) -> list[str]:
    """Clean a list of names, dropping case-insensitive duplicates but keeping first spellings.

    Empty entries ("a, , b" in the form, "" in the API) are skipped: one rule for every way in.
    """
    seen: set[str] = set()
    result = []
    for raw in raw_names:
        if isinstance(raw, str) and not raw.strip():
            continue
        name = clean_tag_name(raw)
        if tag_key(name) not in seen:
            seen.add(tag_key(name))
            result.append(name)
    return result


def split_tag_string(text: str) -> list[str]:
    """Split the comma-separated tag field of the web form (empty pieces ignored)."""
    return clean_tag_names(text.split(","))
