"""The search box syntax: words are ANDed, "quoted phrases", -word excludes, #tag filters.

Everything that is not a quote, a leading ``-`` or a leading ``#`` is literal text: operators
of the database's own full-text syntax (AND, OR, NEAR, ``*``, ``:``, parentheses) carry no
meaning here. Each term is later cut into words (:func:`words`) the same way on SQLite and on
Postgres, so both databases answer a query alike.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field


@dataclass
class ParsedQuery:
    terms: list[str] = field(default_factory=list)  # words and phrases that must all match
    excluded: list[str] = field(default_factory=list)  # words and phrases that must not match
    tags: list[str] = field(default_factory=list)  # tag names the link must carry

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.excluded or self.tags)


_SPACES = re.compile(r"\s+")
# A word is a run of letters and digits; everything else (punctuation, symbols, "_") separates
# words. This mirrors SQLite's unicode61 tokenizer and the punctuation stripping done before
# Postgres' parser sees a document (see index.py).
_WORD = re.compile(r"[^\W_]+")


def _split(text: str) -> list[str]:
    """Split on whitespace keeping quoted phrases; an unbalanced quote closes at the end."""
    try:
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        lexer.escape = ""
        lexer.quotes = '"'
        return list(lexer)
    except ValueError:
        return _split(text + '"')


def parse_query(text: str) -> ParsedQuery:
    parsed = ParsedQuery()
    for token in _split(text or ""):
        token = _SPACES.sub(" ", token).strip()
        if not token:
            continue
        if token.startswith("#") and len(token) > 1:
            parsed.tags.append(token[1:])
        elif token.startswith("-") and len(token) > 1:
            parsed.excluded.append(token[1:])
        elif token not in ("-", "#"):
            parsed.terms.append(token)
    return parsed


def words(term: str) -> list[str]:
    """The words of one term: "example.com/blog" is the phrase example, com, blog."""
    return _WORD.findall(term)
