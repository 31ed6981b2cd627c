"""Search indexes C++, C#, F# and .NET as words of their own (snapshots/search/special_tokens.py)."""
from django.db import migrations

from snapshots.search.index import install_search_index, rebuild_search_index


def reindex(apps, schema_editor):
    install_search_index(schema_editor.connection)  # the triggers and functions with the rewrite
    rebuild_search_index(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("snapshots", "0005_snapshot_claimed_by"),
    ]

    operations = [
        migrations.RunPython(reindex, migrations.RunPython.noop),
    ]
