"""Per-database full-text filters; both take terms already cut into words (query.words)."""
from __future__ import annotations

from typing import Callable

from django.db import connections
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from snapshots.search.index import LINK_TABLE, PG_COLUMN, PG_CONFIG, SQLITE_TABLE

Term = list[str]  # the words of one term, in order
Group = list[Term]  # terms of which one must match ("a OR b")
Filter = Callable[[QuerySet, list[Group], list[Term]], QuerySet]


# SQLite FTS5 -----------------------------------------------------------------------------------

def _fts5_term(term: Term) -> str:
    # A double-quoted FTS5 string is literal text (operators inside mean nothing); words hold
    # no quotes, and the trailing * makes the last word a prefix.
    return '"' + " ".join(term) + '"*'


def _fts5_rowids(match: str) -> RawSQL:
    return RawSQL(f"SELECT rowid FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH %s", [match])


def _fts5_has_match(links: QuerySet, match: str) -> bool:
    with connections[links.db].cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH %s LIMIT 1", [match])
        return cursor.fetchone() is not None


def _fts5_group(group: Group) -> str:
    return "(" + " OR ".join(_fts5_term(term) for term in group) + ")"


def sqlite_filter(links: QuerySet, required: list[Group], excluded: list[Term]) -> QuerySet:
    """The MATCH runs once into a list; SQLite then walks the links newest first keeping listed ones.

    That walk stops as soon as a page is full (a few ms for common words at 100,000 links) but
    reads every link when nothing matches, so a search without any hit is answered up front.
    """
    if required:
        match = " AND ".join(_fts5_group(group) for group in required)
        match += "".join(f" NOT {_fts5_term(term)}" for term in excluded)
        if not _fts5_has_match(links, match):
            return links.none()
        return links.filter(pk__in=_fts5_rowids(match))
    # FTS5's NOT needs a left side, so a query of excludes only is a NOT IN over the index.
    return links.exclude(pk__in=_fts5_rowids(" OR ".join(_fts5_term(term) for term in excluded)))


# Postgres tsquery ------------------------------------------------------------------------------

def _tsquery_term(term: Term) -> str:
    # Quoted lexemes are literal; words hold no quotes or backslashes. <-> keeps phrase order.
    return "(" + " <-> ".join(f"'{word}'" for word in term) + ":*)"


def tsquery_text(required: list[Group], excluded: list[Term]) -> str:
    parts = ["(" + " | ".join(_tsquery_term(term) for term in group) + ")" for group in required]
    parts += [f"!{_tsquery_term(term)}" for term in excluded]
    return " & ".join(parts)


def postgres_filter(links: QuerySet, required: list[Group], excluded: list[Term]) -> QuerySet:
    """One condition on the indexed tsvector; the planner picks GIN-then-sort for rare words and
    a newest-first walk for common ones, from the word statistics (see index.py)."""
    condition = RawSQL(
        f'"{LINK_TABLE}"."{PG_COLUMN}" @@ to_tsquery(%s::regconfig, %s)',
        [PG_CONFIG, tsquery_text(required, excluded)],
        output_field=BooleanField(),
    )
    return links.filter(condition)


_FILTERS: dict[str, Filter] = {"sqlite": sqlite_filter, "postgresql": postgres_filter}


def full_text(vendor: str) -> Filter:
    try:
        return _FILTERS[vendor]
    except KeyError:
        raise NotImplementedError(f"Search supports SQLite and Postgres, not {vendor}.") from None
