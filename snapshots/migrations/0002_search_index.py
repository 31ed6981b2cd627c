"""Full-text search index: FTS5 on SQLite, a GIN-indexed tsvector on Postgres.

The SQL is written out here as it was when this migration was made, so the migration never changes
with the code; snapshots/search/index.py keeps the same objects in repair (ensure_search_index,
rebuild_search_index) and documents what they are.
"""
from django.db import migrations

SQLITE_INSTALL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS link_search USING fts5(document, content='', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    'DROP TRIGGER IF EXISTS link_search_insert',
    "CREATE TRIGGER link_search_insert AFTER INSERT ON snapshots_link BEGIN INSERT INTO link_search(rowid, document) VALUES (new.id, new.title || ' ' || new.description || ' ' || new.notes || ' ' || new.url || ' ' || substr(new.page_text, 1, 100000)); END",
    'DROP TRIGGER IF EXISTS link_search_delete',
    "CREATE TRIGGER link_search_delete AFTER DELETE ON snapshots_link BEGIN INSERT INTO link_search(link_search, rowid, document) VALUES ('delete', old.id, old.title || ' ' || old.description || ' ' || old.notes || ' ' || old.url || ' ' || substr(old.page_text, 1, 100000)); END",
    'DROP TRIGGER IF EXISTS link_search_update',
    "CREATE TRIGGER link_search_update AFTER UPDATE ON snapshots_link WHEN old.title IS NOT new.title OR old.description IS NOT new.description OR old.notes IS NOT new.notes OR old.url IS NOT new.url OR old.page_text IS NOT new.page_text BEGIN INSERT INTO link_search(link_search, rowid, document) VALUES ('delete', old.id, old.title || ' ' || old.description || ' ' || old.notes || ' ' || old.url || ' ' || substr(old.page_text, 1, 100000)); INSERT INTO link_search(rowid, document) VALUES (new.id, new.title || ' ' || new.description || ' ' || new.notes || ' ' || new.url || ' ' || substr(new.page_text, 1, 100000)); END",
    "INSERT INTO link_search(link_search) VALUES ('delete-all')",
    "INSERT INTO link_search(rowid, document) SELECT id, snapshots_link.title || ' ' || snapshots_link.description || ' ' || snapshots_link.notes || ' ' || snapshots_link.url || ' ' || substr(snapshots_link.page_text, 1, 100000) FROM snapshots_link",
]
SQLITE_REMOVE = [
    'DROP TRIGGER IF EXISTS link_search_insert',
    'DROP TRIGGER IF EXISTS link_search_delete',
    'DROP TRIGGER IF EXISTS link_search_update',
    'DROP TABLE IF EXISTS link_search',
]
POSTGRES_INSTALL = """
CREATE EXTENSION IF NOT EXISTS unaccent;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'linkshot_search') THEN
    CREATE TEXT SEARCH CONFIGURATION linkshot_search (COPY = simple);
    ALTER TEXT SEARCH CONFIGURATION linkshot_search
      ALTER MAPPING FOR asciiword, word, numword, asciihword, hword, numhword,
                        hword_asciipart, hword_part, hword_numpart
      WITH unaccent, simple;
  END IF;
END $$;
CREATE OR REPLACE FUNCTION linkshot_search_document(title text, description text, notes text,
                                                    url text, page_text text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_tsvector('linkshot_search'::regconfig, regexp_replace(
    title || ' ' || description || ' ' || notes || ' ' || url || ' ' || left(page_text, 100000),
    '[!-/:-@[-`{-~]', ' ', 'g'))
$$;
CREATE OR REPLACE FUNCTION linkshot_link_search_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.search_document IS NOT NULL
     AND NEW.title IS NOT DISTINCT FROM OLD.title
     AND NEW.description IS NOT DISTINCT FROM OLD.description
     AND NEW.notes IS NOT DISTINCT FROM OLD.notes
     AND NEW.url IS NOT DISTINCT FROM OLD.url
     AND NEW.page_text IS NOT DISTINCT FROM OLD.page_text THEN
    RETURN NEW;  -- flags or dates changed: the words did not
  END IF;
  NEW.search_document := linkshot_search_document(NEW.title, NEW.description, NEW.notes, NEW.url,
                                              NEW.page_text);
  RETURN NEW;
END $$;
ALTER TABLE snapshots_link ADD COLUMN IF NOT EXISTS search_document tsvector;
DROP TRIGGER IF EXISTS link_search_document ON snapshots_link;
CREATE TRIGGER link_search_document BEFORE INSERT OR UPDATE ON snapshots_link
  FOR EACH ROW EXECUTE FUNCTION linkshot_link_search_trigger();
UPDATE snapshots_link SET search_document = linkshot_search_document(title, description, notes, url, page_text)
  WHERE search_document IS NULL;
CREATE INDEX IF NOT EXISTS link_search_document_gin ON snapshots_link USING gin (search_document);
-- Finer word statistics let the planner tell rare words (read the GIN index, then sort the few
-- hits) from common ones (walk the newest links until a page is full); with the default target
-- an unknown word is guessed at 0.5% of rows and a zero-hit search scans every link.
ALTER TABLE snapshots_link ALTER COLUMN search_document SET STATISTICS 1000;
"""
POSTGRES_REMOVE = """
DROP TRIGGER IF EXISTS link_search_document ON snapshots_link;
ALTER TABLE snapshots_link DROP COLUMN IF EXISTS search_document;
DROP FUNCTION IF EXISTS linkshot_link_search_trigger();
DROP FUNCTION IF EXISTS linkshot_search_document(text, text, text, text, text);
DROP TEXT SEARCH CONFIGURATION IF EXISTS linkshot_search;
"""


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"Search supports SQLite and Postgres, not {vendor}.")
    with schema_editor.connection.cursor() as cursor:
        for statement in SQLITE_INSTALL if vendor == "sqlite" else [POSTGRES_INSTALL]:
            cursor.execute(statement)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        for statement in {"sqlite": SQLITE_REMOVE, "postgresql": [POSTGRES_REMOVE]}.get(vendor, []):
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("snapshots", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(install, remove),
    ]
