from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate

from snapshots import list_cache
from snapshots.capture_jobs import cleanup

from snapshots.search.index import ensure_search_index


def _ensure_search_index(sender, using: str = "default", **kwargs) -> None:
    # SQLite drops a table's triggers when a migration rebuilds it; put the search ones back.
    ensure_search_index(connections[using])


class SnapshotsConfig(AppConfig):
    name = "snapshots"
    verbose_name = "Links and snapshots"

    def ready(self) -> None:
        post_migrate.connect(_ensure_search_index, sender=self)
        cleanup.connect()
        list_cache.connect()
