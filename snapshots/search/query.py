"""The search box syntax: words are ANDed, ``a OR b`` either, "quoted phrases", -word excludes, #tag filters.

Everything that is not a quote, an upper-case OR between two terms, a leading ``-`` or a
leading ``#`` is literal text: operators of the database's own full-text syntax (AND, NEAR,
``*``, ``:``, parentheses) carry no meaning here. Each term is later cut into words (:func:`words`) the same way on SQLite and on
Postgres, so both databases answer a query alike.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from snapshots.search import special_tokens


@dataclass
class ParsedQuery:
    # Each group must match; a group matches when one of its words or phrases does ("a OR b").
    groups: list[list[str]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # words and phrases that must not match
    tags: list[str] = field(default_factory=list)  # tag names the link must carry

    @property
    def terms(self) -> list[str]:
        return [term for group in self.groups for term in group]

    @property
    def is_empty(self) -> bool:
        return not (self.groups or self.excluded or self.tags)


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


OR = "OR"  # upper case only: "or" stays a word


def parse_query(text: str) -> ParsedQuery:
    parsed = ParsedQuery()
    joining = False  # an OR after a term joins the next term to its group
    for token in _split(text or ""):
        token = _SPACES.sub(" ", token).strip()
        if not token:
            continue
        if token.startswith("#") and len(token) > 1:
            parsed.tags.append(token[1:])
        elif token.startswith("-") and len(token) > 1:
            parsed.excluded.append(token[1:])
        elif token == OR and parsed.groups and not joining:
            joining = True
        elif token not in ("-", "#"):
            if joining:
                parsed.groups[-1].append(token)
            else:
                parsed.groups.append([token])
            joining = False
    if joining:  # "a OR" at the end: the OR was a word after all
        parsed.groups.append([OR])
    return parsed


def words(term: str) -> list[str]:
    """The words of one term: "example.com/blog" is the phrase example, com, blog; "C++" is cplusplus."""
    return _WORD.findall(special_tokens.rewrite(term))
