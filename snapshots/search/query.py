"""The search box syntax: words are ANDed, "quoted phrases", -word excludes, #tag filters."""
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
