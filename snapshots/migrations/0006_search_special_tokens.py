"""Search indexes C++, C#, F# and .NET as words of their own (snapshots/search/special_tokens.py).

The search document of every link is rewritten before words are cut, on both databases, and every
link is indexed again. The SQL is written out here as it was when this migration was made (as in
0002), so the migration never changes with the code; unapplying it restores 0002's document.
"""
import importlib

from django.db import migrations

SQLITE_INSTALL = [
    'DROP TRIGGER IF EXISTS link_search_insert',
    "CREATE TRIGGER link_search_insert AFTER INSERT ON snapshots_link BEGIN INSERT INTO link_search(rowid, document) VALUES (new.id, replace(replace(replace(replace((' ' || lower(new.title || ' ' || new.description || ' ' || new.notes || ' ' || new.url || ' ' || substr(new.page_text, 1, 100000))), 'c++', ' cplusplus '), 'c#', ' csharp '), 'f#', ' fsharp '), ' .net', ' dotnet ')); END",
    'DROP TRIGGER IF EXISTS link_search_delete',
    "CREATE TRIGGER link_search_delete AFTER DELETE ON snapshots_link BEGIN INSERT INTO link_search(link_search, rowid, document) VALUES ('delete', old.id, replace(replace(replace(replace((' ' || lower(old.title || ' ' || old.description || ' ' || old.notes || ' ' || old.url || ' ' || substr(old.page_text, 1, 100000))), 'c++', ' cplusplus '), 'c#', ' csharp '), 'f#', ' fsharp '), ' .net', ' dotnet ')); END",
    'DROP TRIGGER IF EXISTS link_search_update',
    "CREATE TRIGGER link_search_update AFTER UPDATE ON snapshots_link WHEN old.title IS NOT new.title OR old.description IS NOT new.description OR old.notes IS NOT new.notes OR old.url IS NOT new.url OR old.page_text IS NOT new.page_text BEGIN INSERT INTO link_search(link_search, rowid, document) VALUES ('delete', old.id, replace(replace(replace(replace((' ' || lower(old.title || ' ' || old.description || ' ' || old.notes || ' ' || old.url || ' ' || substr(old.page_text, 1, 100000))), 'c++', ' cplusplus '), 'c#', ' csharp '), 'f#', ' fsharp '), ' .net', ' dotnet ')); INSERT INTO link_search(rowid, document) VALUES (new.id, replace(replace(replace(replace((' ' || lower(new.title || ' ' || new.description || ' ' || new.notes || ' ' || new.url || ' ' || substr(new.page_text, 1, 100000))), 'c++', ' cplusplus '), 'c#', ' csharp '), 'f#', ' fsharp '), ' .net', ' dotnet ')); END",
    "INSERT INTO link_search(link_search) VALUES ('delete-all')",
    "INSERT INTO link_search(rowid, document) SELECT id, replace(replace(replace(replace((' ' || lower(snapshots_link.title || ' ' || snapshots_link.description || ' ' || snapshots_link.notes || ' ' || snapshots_link.url || ' ' || substr(snapshots_link.page_text, 1, 100000))), 'c++', ' cplusplus '), 'c#', ' csharp '), 'f#', ' fsharp '), ' .net', ' dotnet ') FROM snapshots_link",
]
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION linkshot_search_document(title text, description text, notes text,
                                                    url text, page_text text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_tsvector('linkshot_search'::regconfig, regexp_replace(
    replace(replace(replace(replace((' ' || lower(title || ' ' || description || ' ' || notes || ' ' || url || ' ' || left(page_text, 100000))), 'c++', ' cplusplus '), 'c#', ' csharp '), 'f#', ' fsharp '), ' .net', ' dotnet '),
    '[!-/:-@[-`{-~]', ' ', 'g'))
$$;
"""
POSTGRES_REINDEX = ("UPDATE snapshots_link SET search_document = "
                    "linkshot_search_document(title, description, notes, url, page_text)")


def _run(schema_editor, statements: list[str]) -> None:
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_INSTALL)
    elif vendor == "postgresql":
        _run(schema_editor, [POSTGRES_FUNCTION, POSTGRES_REINDEX])


def restore(apps, schema_editor):
    """Back to 0002's document: its SQL again, then every link indexed with it."""
    earlier = importlib.import_module("snapshots.migrations.0002_search_index")
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, earlier.SQLITE_INSTALL)
    elif vendor == "postgresql":
        _run(schema_editor, [earlier.POSTGRES_INSTALL, POSTGRES_REINDEX])


class Migration(migrations.Migration):

    dependencies = [
        ("snapshots", "0005_snapshot_claimed_by"),
    ]

    operations = [
        migrations.RunPython(install, restore),
    ]
