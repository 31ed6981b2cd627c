"""Stored snapshot files go with their row: deleting a link (or a snapshot) frees its media."""
from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete

from snapshots.replay.asset_types import FILE_ASSETS

log = logging.getLogger(__name__)


def _delete_files(names: list[tuple[object, str]]) -> None:
    for storage, name in names:
        try:
            storage.delete(name)
        except OSError as exc:  # a missing or unremovable file must not undo the delete
            log.warning("could not delete stored file %s: %s", name, exc)


def delete_snapshot_files(sender, instance, **kwargs) -> None:
    files = [getattr(instance, field) for field in FILE_ASSETS]
    names = [(f.storage, f.name) for f in files if f and f.name]
    if names:
        # Only once the delete is committed: a rolled-back delete keeps its files.
        transaction.on_commit(lambda: _delete_files(names))


def connect() -> None:
    post_delete.connect(delete_snapshot_files, sender="snapshots.Snapshot", dispatch_uid="snapshot-file-cleanup")
