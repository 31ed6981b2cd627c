"""Words of a page and spellings of a tag: the lexical evidence and the variant rule.

A tag name's variants are the spellings a person means by it: any case, singular or plural,
hyphen, underscore, dot or space between parts ("class-based views" ~ "Class based view").
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote, urlsplit

_WORD = re.compile(r"(?<!\w)\.net\b|[^\W_]+[+#]*", re.UNICODE | re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-_./]+")


def words(text: str) -> list[str]:
    """Lower-case word tokens; keeps tokens such as c++, c# and .net whole."""
    return list(map(str.lower, _WORD.findall(text or "")))


@lru_cache(maxsize=200_000)  # a page's words repeat, and so do a library's: most calls are a lookup
def singular(word: str) -> str:
    """A plain English singular, enough to match tags (queries ~ query, classes ~ class)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=100_000)
def name_key(name: str) -> str:
    """One key for all variants of a tag name: case, plural, separators."""
    return " ".join(singular(w) for w in words(_SEPARATORS.sub(" ", name)))


def is_variant(a: str, b: str) -> bool:
    return bool(name_key(a)) and name_key(a) == name_key(b)


@dataclass
class PageWords:
    """The parts of a page where a mention of a tag counts, as singular word sequences."""

    title: list[str] = field(default_factory=list)
    url: list[str] = field(default_factory=list)
    description: list[str] = field(default_factory=list)
    headings: list[list[str]] = field(default_factory=list)
    keywords: frozenset[str] = frozenset()  # name keys of the page's meta keywords
    body: Counter = field(default_factory=Counter)  # n-gram (as key string) -> count
    body_words: int = 0

    @classmethod
    def of(cls, title: str, url: str, description: str, body: str, headings: list[str] = (),
           keywords: list[str] = ()) -> "PageWords":
        return cls.of_body_words(title, url, description, words(body), headings, keywords)

    @classmethod
    def of_body_words(cls, title: str, url: str, description: str, body_words: list[str], headings: list[str] = (),
                      keywords: list[str] = ()) -> "PageWords":
        """:meth:`of` with the body already split by :func:`words` (the inputs split it once for
        these words and the page's terms)."""
        body_tokens = list(map(singular, body_words))
        grams: Counter = Counter(body_tokens)
        grams.update(map(" ".join, zip(body_tokens, body_tokens[1:])))
        return cls(title=_singulars(title), url=_singulars(url_words(url)), description=_singulars(description),
                   headings=[_singulars(h) for h in headings], keywords=frozenset(name_key(k) for k in keywords),
                   body=grams, body_words=len(body_tokens))


def url_words(url: str) -> str:
    """The host's name parts and the path of a URL as words (no scheme, no 'www', no 'com')."""
    parts = urlsplit(url or "")
    host = [p for p in (parts.hostname or "").split(".") if p not in ("www", "com", "org", "net", "io")]
    return " ".join([*host, *words(unquote(parts.path))])


def _singulars(text: str) -> list[str]:
    return [singular(w) for w in words(text)]


def _contains(sequence: list[str], key: list[str]) -> bool:
    n = len(key)
    return n > 0 and any(sequence[i:i + n] == key for i in range(len(sequence) - n + 1))


@dataclass(frozen=True)
class Mentions:
    title: bool
    url: bool
    description: bool
    heading: bool
    keyword: bool
    body_count: int


def mentions(page: PageWords, tag_name: str) -> Mentions:
    """Where the page names the tag (any variant)."""
    key = name_key(tag_name).split()
    body = page.body.get(" ".join(key), 0) if 0 < len(key) <= 2 else 0
    return Mentions(title=_contains(page.title, key), url=_contains(page.url, key),
                    description=_contains(page.description, key),
                    heading=any(_contains(h, key) for h in page.headings),
                    keyword=" ".join(key) in page.keywords, body_count=body)
