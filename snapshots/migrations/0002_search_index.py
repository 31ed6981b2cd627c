"""Full-text search index: FTS5 on SQLite, a GIN-indexed tsvector on Postgres (see snapshots/search/index.py)."""
from django.db import migrations

from snapshots.search.index import install_search_index, remove_search_index


def install(apps, schema_editor):
    install_search_index(schema_editor.connection)


def remove(apps, schema_editor):
    remove_search_index(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("snapshots", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(install, remove),
    ]
