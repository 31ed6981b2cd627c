"""Rendered rows of the link list, reused while nothing of the user's changes.

Rendering a list page's rows (the links, their newest snapshots, their tags, a search when there
is one) is most of the page's cost, and people reload the same pages - the list, a tag, a search -
far more often than they change anything. So the rows of each (user, filters, page) are kept in
the shared cache under a per-user version, and every change to the user's links, tags or
snapshots drops that version (``user_changed``). Rows are kept for at most
``LINKSHOT_LIST_CACHE_SECONDS``, which also bounds how stale a relative time ("5 minutes ago") can be.

The version is dropped twice: at once, so the changing request reads its own change, and again
after commit, because a reader that picked up a new version before the commit may have stored
rows read before it. A reader fixes its version before it reads the database, so rows stored
under a dropped version are never served.

Without a cache shared by every web and worker process (Redis), caching is off: a worker's change
could not reach a web process's private cache.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListRows:
    html: str
    count: int
    has_next: bool


def enabled() -> bool:
    return settings.LINKSHOT_LIST_CACHE_SECONDS > 0


def rows_for(user_id: int, variant: str, render: Callable[[], ListRows]) -> ListRows:
    """The cached rows of ``variant`` (filters, page, language) for this user, else ``render()``."""
    if not enabled():
        return render()
    version_key, rows_key = _version_key(user_id), _rows_key(user_id, variant)
    try:
        found = cache.get_many([version_key, rows_key])  # one round trip on the common path
        version = found.get(version_key) or _new_version(version_key)
    except Exception:  # noqa: BLE001 - a cache outage must cost speed, never the page
        log.warning("list cache unavailable; rendering without it", exc_info=True)
        return render()
    cached = found.get(rows_key)
    if cached is not None and cached[0] == version:
        return ListRows(*cached[1:])
    rows = render()
    try:
        cache.set(rows_key, (version, rows.html, rows.count, rows.has_next), settings.LINKSHOT_LIST_CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        log.warning("could not store list rows", exc_info=True)
    return rows


def user_changed(*user_ids: int | None) -> None:
    """Forget the cached rows of these users, now and once the current transaction commits."""
    keys = [_version_key(user_id) for user_id in set(user_ids) if user_id is not None]
    if not keys or not enabled():
        return
    _forget(keys)
    transaction.on_commit(lambda: _forget(keys), robust=True)


def current_version(user_id: int) -> str | None:
    """A token that changes whenever the user's links, tags or snapshots change; None when unknown.

    Other caches of per-user data (the suggestion scorer's tag memberships) key on it.
    """
    if not enabled():
        return None
    try:
        return cache.get(_version_key(user_id)) or _new_version(_version_key(user_id))
    except Exception:  # noqa: BLE001 - unknown means "reload", never an error
        return None


def _forget(keys: list[str]) -> None:
    try:
        cache.delete_many(keys)
    except Exception:  # noqa: BLE001 - the rows then expire on their own within the time limit
        log.warning("could not drop cached list rows", exc_info=True)


def _new_version(key: str) -> str:
    cache.add(key, uuid.uuid4().hex, None)  # add: a concurrent reader's version wins, not ours
    return cache.get(key) or "unversioned"


def _version_key(user_id: int) -> str:
    return f"list-version:{user_id}"


def _rows_key(user_id: int, variant: str) -> str:
    """One entry per page; it holds the version it was rendered under and counts only while current."""
    digest = hashlib.blake2b(variant.encode(), digest_size=12).hexdigest()
    return f"list-rows:{user_id}:{digest}"


# Saves, deletes and tag changes made through model instances (the admin, the services, the API)
# reach the cache through these signals; QuerySet.update() and bulk_create() send none, so the
# code that uses them calls user_changed() itself.

def _owner_changed(sender, instance, **kwargs) -> None:
    user_changed(instance.user_id)


def _snapshot_changed(sender, instance, **kwargs) -> None:
    try:
        user_changed(instance.link.user_id)
    except ObjectDoesNotExist:  # deleted along with its link, whose own signal covers it
        pass


def _tags_changed(sender, instance, action: str, **kwargs) -> None:
    if action.startswith("post_"):
        user_changed(instance.user_id)  # a Link (link.tags) or a Tag (tag.links): both have an owner


def connect() -> None:
    for model in ("snapshots.Link", "tagging.Tag"):
        post_save.connect(_owner_changed, sender=model, dispatch_uid=f"list-cache-save-{model}")
        post_delete.connect(_owner_changed, sender=model, dispatch_uid=f"list-cache-delete-{model}")
    post_save.connect(_snapshot_changed, sender="snapshots.Snapshot", dispatch_uid="list-cache-save-snapshot")
    post_delete.connect(_snapshot_changed, sender="snapshots.Snapshot", dispatch_uid="list-cache-delete-snapshot")
    m2m_changed.connect(_tags_changed, sender="snapshots.Link_tags", dispatch_uid="list-cache-tags")
