"""The full-text index behind search, kept in step with snapshots_link by database triggers.

One "search document" per link: title, description, notes, URL and the first
``PAGE_TEXT_CHARS`` characters of the page text, in that order, as a single text. Words are
runs of letters and digits, lower-cased and without accents, on both databases:

* SQLite: a contentless FTS5 table ``link_search`` (rowid = link id) with the unicode61
  tokenizer (``remove_diacritics 2``), filled by INSERT/UPDATE/DELETE triggers on snapshots_link.
  It stores only the index, not a second copy of the text.
* Postgres: a ``search_document`` tsvector column on snapshots_link (invisible to Django's
  models), set by a BEFORE INSERT/UPDATE trigger and indexed with GIN. The text search
  configuration ``linkshot_search`` is ``simple`` plus ``unaccent``; ASCII punctuation is turned
  into spaces first so that URLs split into words just like on SQLite ("example.com/blog" →
  example, com, blog) instead of Postgres' host/path tokens.

Triggers rather than a generated column or an expression index: Postgres refuses to change the
type of a column used by a generated column, and an expression index would recompute the
vector on every recheck. On SQLite, Django rebuilds a table for many schema changes, which drops
its triggers; :func:`ensure_search_index` (run after every migrate) puts them back and rebuilds
the index when that happened.

Migration 0002 creates all of it and 0006 makes C++, C#, F# and .NET words of their own
(special_tokens.py), each with its SQL written out in the migration; this module keeps the names
the queries use and repairs the SQLite side (with the newest document, the one 0006 installed).
"""
from __future__ import annotations

import logging

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.recorder import MigrationRecorder

from snapshots.search.special_tokens import rewrite_sql

logger = logging.getLogger(__name__)

# Pages can be huge; the index covers their beginning. Postgres caps a tsvector at 1 MB, and the
# same cap on SQLite keeps both databases' answers identical.
PAGE_TEXT_CHARS = 100_000

INSTALLING_MIGRATION = ("snapshots", "0002_search_index")
LINK_TABLE = "snapshots_link"
SQLITE_TABLE = "link_search"
SQLITE_TRIGGERS = ("link_search_insert", "link_search_delete", "link_search_update")
PG_CONFIG = "linkshot_search"
PG_COLUMN = "search_document"

_INDEXED_COLUMNS = ("title", "description", "notes", "url", "page_text")


def _sqlite_document(row: str) -> str:
    return rewrite_sql(f"{row}.title || ' ' || {row}.description || ' ' || {row}.notes || ' ' || {row}.url"
                       f" || ' ' || substr({row}.page_text, 1, {PAGE_TEXT_CHARS})")


def _sqlite_changed() -> str:
    return " OR ".join(f"old.{name} IS NOT new.{name}" for name in _INDEXED_COLUMNS)


_SQLITE_CREATE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SQLITE_TABLE} USING fts5("
    f"document, content='', tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
)
_SQLITE_INSERT = f"INSERT INTO {SQLITE_TABLE}(rowid, document) VALUES (new.id, {_sqlite_document('new')});"
# A contentless table forgets the text, so a delete must name the words that were indexed.
_SQLITE_DELETE = (f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}, rowid, document) "
                  f"VALUES ('delete', old.id, {_sqlite_document('old')});")
_SQLITE_TRIGGERS = {
    "link_search_insert": f"AFTER INSERT ON {LINK_TABLE} BEGIN {_SQLITE_INSERT} END",
    "link_search_delete": f"AFTER DELETE ON {LINK_TABLE} BEGIN {_SQLITE_DELETE} END",
    "link_search_update": (f"AFTER UPDATE ON {LINK_TABLE} WHEN {_sqlite_changed()} "
                           f"BEGIN {_SQLITE_DELETE} {_SQLITE_INSERT} END"),
}

def ensure_search_index(connection: BaseDatabaseWrapper) -> None:
    """Put back SQLite triggers lost to a table rebuild; a no-op when everything is in place."""
    if connection.vendor != "sqlite" or not _installed_by_migration(connection):
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [LINK_TABLE])
        present = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [SQLITE_TABLE])
        has_table = cursor.fetchone() is not None
    if has_table and present.issuperset(SQLITE_TRIGGERS):
        return
    logger.warning("Search index triggers were missing; recreating them and reindexing all links.")
    _install_sqlite(connection, rebuild=True)


def _installed_by_migration(connection: BaseDatabaseWrapper) -> bool:
    # Unapplying the migration removes the index on purpose; only repair what it put there.
    return INSTALLING_MIGRATION in MigrationRecorder(connection).applied_migrations()


def rebuild_search_index(connection: BaseDatabaseWrapper) -> None:
    """Reindex every link from scratch (after bulk loads that bypassed triggers, or repairs)."""
    if connection.vendor == "sqlite":
        _install_sqlite(connection, rebuild=True)
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {LINK_TABLE} SET {PG_COLUMN} = "
                           f"linkshot_search_document(title, description, notes, url, page_text)")


def _install_sqlite(connection: BaseDatabaseWrapper, rebuild: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_SQLITE_CREATE_TABLE)
        for name, body in _SQLITE_TRIGGERS.items():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"CREATE TRIGGER {name} {body}")
        if rebuild:
            cursor.execute(f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}) VALUES ('delete-all')")
            cursor.execute(f"INSERT INTO {SQLITE_TABLE}(rowid, document) "
                           f"SELECT id, {_sqlite_document(LINK_TABLE)} FROM {LINK_TABLE}")
