"""Names that are mostly punctuation (C++, C#, F#, .NET) kept searchable as words.

Words are runs of letters and digits, so "C++" would be the word "c" and match every page with a
lone "c". Before words are cut, documents and queries alike get these names replaced by a word
of their own. Plain lower() and replace() do it, the same in Python, SQLite and Postgres, so both
databases index and query them identically.
"""
from __future__ import annotations

import re

# (spelling, lower-case, as it appears after lower()) -> the word it becomes. ".net" counts only
# after a space or at the start, so "example.net" stays the words example, net.
SPECIAL_TOKENS: tuple[tuple[str, str], ...] = (
    ("c++", "cplusplus"),
    ("c#", "csharp"),
    ("f#", "fsharp"),
    (" .net", "dotnet"),
)


_PATTERNS = tuple((re.compile(re.escape(spelling), re.IGNORECASE), f" {word} ") for spelling, word in SPECIAL_TOKENS)


def rewrite(text: str) -> str:
    """``text`` with the special names (in any case) replaced by their words; the rest is left alone."""
    result = " " + text
    for pattern, word in _PATTERNS:
        result = pattern.sub(word, result)
    return result


def rewrite_sql(expression: str) -> str:
    """The same rewrite as SQL over ``expression`` (SQLite and Postgres share lower/replace/||)."""
    result = f"(' ' || lower({expression}))"
    for spelling, word in SPECIAL_TOKENS:
        result = f"replace({result}, '{spelling}', ' {word} ')"
    return result
