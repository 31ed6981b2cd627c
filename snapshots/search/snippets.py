"""The piece of a found link's text around the first searched word, with the matches marked.

Built in Python for the links on one page (30 at most), from the description, the notes and the
start of the page text, so SQLite and Postgres show the same snippet. Matching follows search:
case and accents do not count, a word matches the start of a longer one, C++ and friends are
found as themselves.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from django.db.models.functions import Substr
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from snapshots.models import Link
from snapshots.search.query import parse_query, words
from snapshots.search.special_tokens import SPECIAL_TOKENS

SCAN_CHARS = 20_000  # of the page text: a match further down gives no snippet
BEFORE_CHARS, AFTER_CHARS = 60, 160
_SPECIAL = {word: spelling.strip() for spelling, word in SPECIAL_TOKENS}


@lru_cache(maxsize=1)
def _accented() -> dict[str, str]:
    """Each ASCII letter with the Latin letters that fold to it ("e" → "eéèêë…")."""
    forms: dict[str, str] = {}
    for code in range(0x00C0, 0x0250):
        char = chr(code)
        base = unicodedata.normalize("NFKD", char)[0].lower()
        if base.isascii() and base.isalpha():
            forms[base] = forms.get(base, base) + char + char.upper() + char.lower()
    return forms


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)).lower()


def _word_pattern(word: str) -> str:
    if word.lower() in _SPECIAL:
        return re.escape(_SPECIAL[word.lower()])
    forms = _accented()
    return "".join(f"[{re.escape(forms[c])}]" if c in forms else re.escape(c) for c in _fold(word))


def matcher(query: str) -> re.Pattern | None:
    """One regex finding any searched word at the start of a word in a text; None without words."""
    found = {word for group in parse_query(query).groups for term in group for word in words(term)}
    if not found:
        return None
    alternatives = "|".join(sorted((_word_pattern(w) for w in found), key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})", re.IGNORECASE)


def snippet(text: str, pattern: re.Pattern) -> SafeString | None:
    """Escaped text around the first match, every match in it marked; None when nothing matches."""
    first = pattern.search(text)
    if first is None:
        return None
    start = max(0, first.start() - BEFORE_CHARS)
    end = min(len(text), first.end() + AFTER_CHARS)
    while start > 0 and not text[start - 1].isspace() and first.start() - start < BEFORE_CHARS + 20:
        start -= 1
    window = text[start:end]
    pieces, last = [], 0
    for match in pattern.finditer(window):
        pieces += [escape(window[last:match.start()]), f"<mark>{escape(match.group())}</mark>"]
        last = match.end()
    pieces.append(escape(window[last:]))
    body = " ".join("".join(pieces).split())
    return mark_safe(("…" if start else "") + body + ("…" if end < len(text) else ""))


def snippets_for(link_ids: list[int], query: str) -> dict[int, SafeString]:
    """Snippets of the given links for ``query`` (links whose text does not match have none)."""
    pattern = matcher(query)
    if pattern is None or not link_ids:
        return {}
    rows = (Link.objects.filter(pk__in=link_ids).annotate(head=Substr("page_text", 1, SCAN_CHARS))
            .values_list("pk", "description", "notes", "head"))
    found: dict[int, SafeString] = {}
    for pk, *texts in rows:
        for text in texts:
            piece = snippet(text or "", pattern)
            if piece is not None:
                found[pk] = piece
                break
    return found
