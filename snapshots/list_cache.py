"""Rendered rows of the link list, reused while nothing of the user's changes.

Rendering a list page's rows (the links, their newest snapshots, their tags, a search when there
is one) is most of the page's cost, and people reload the same pages - the list, a tag, a search -
far more often than they change anything. So the rows of each (user, filters, page) are kept in
the shared cache under a per-user version, and every change to the user's links, tags or
snapshots drops that version (``user_changed``, called by :class:`ListCacheQuerySet` and the
signals it connects: no caller calls it by hand). Rows are kept for at most
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

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import models, transaction
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


class UserVersion:
    """A per-user token in the shared cache that changes whenever ``changed`` is called for the user.

    Readers fix the token before they read the data it covers and keep what they read under it;
    ``changed`` drops it at once and again after commit (see the module's docstring). The list
    rows use one; the suggestion scorer's tag memberships another (tagging/memberships.py), which
    does not move when only a link's analysis or snapshot changes.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def key(self, user_id: int) -> str:
        return f"{self.name}:{user_id}"

    def changed(self, *user_ids: int | None) -> None:
        """Forget these users' tokens, now and once the current transaction commits."""
        keys = [self.key(user_id) for user_id in set(user_ids) if user_id is not None]
        if not keys or not enabled():
            return
        _forget(keys)
        transaction.on_commit(lambda: _forget(keys), robust=True)

    def current(self, user_id: int) -> str | None:
        """The user's token now; None when unknown (no shared cache, or it is down)."""
        if not enabled():
            return None
        try:
            return cache.get(self.key(user_id)) or _new_version(self.key(user_id))
        except Exception:  # noqa: BLE001 - unknown means "reload", never an error
            return None


LIST_VERSION = UserVersion("list-version")


def user_changed(*user_ids: int | None) -> None:
    """Forget the cached rows of these users, now and once the current transaction commits."""
    LIST_VERSION.changed(*user_ids)


def _forget(keys: list[str]) -> None:
    try:
        cache.delete_many(keys)
    except Exception:  # noqa: BLE001 - the rows then expire on their own within the time limit
        log.warning("could not drop cached list rows", exc_info=True)


def _new_version(key: str) -> str:
    cache.add(key, uuid.uuid4().hex, None)  # add: a concurrent reader's version wins, not ours
    return cache.get(key) or "unversioned"


def _version_key(user_id: int) -> str:
    return LIST_VERSION.key(user_id)


def _rows_key(user_id: int, variant: str) -> str:
    """One entry per page; it holds the version it was rendered under and counts only while current."""
    digest = hashlib.blake2b(variant.encode(), digest_size=12).hexdigest()
    return f"list-rows:{user_id}:{digest}"


# What tells the cache ------------------------------------------------------------------------

class ListCacheQuerySet(models.QuerySet):
    """The QuerySet of a model whose rows show in a person's cached list pages (Link, Tag, Snapshot).

    Every way of changing such rows drops the owner's cached rows, so no caller has to remember:

    * ``update()``, ``bulk_update()`` and ``bulk_create()`` report the owners here (Django sends no
      signals for them);
    * ``save()``, ``delete()`` (of an instance or a queryset: Django sends ``post_delete`` for every
      row of a model that has listeners) and the model's many-to-many changes reach :func:`connect`'s
      signal handlers, which it connects for every model whose manager is built from this class.

    A new model hooks in with one line, naming the path from a row to the owning user's id::

        class AnalysisQuerySet(ListCacheQuerySet):
            list_owner = "snapshot__link__user_id"

        objects = AnalysisQuerySet.as_manager()

    Many-to-many rows are changed through the related managers (``link.tags.add``,
    ``tag.links.remove``), which send ``m2m_changed``; writing to an auto-created through table's own
    manager bypasses the cache.
    """

    list_owner = "user_id"  # the path from a row to its owner's id, in lookup syntax

    def update(self, **kwargs) -> int:
        owners = self._list_owners(kwargs)
        count = super().update(**kwargs)
        if count:
            user_changed(*owners)
        return count

    def bulk_create(self, objs, *args, **kwargs) -> list:
        created = super().bulk_create(objs, *args, **kwargs)
        if enabled():
            user_changed(*(owner_of(obj, self.list_owner) for obj in created))
        return created

    def _list_owners(self, changes: dict) -> set:
        """Whose rows this queryset holds, read before the write (and the new owner, if it moves rows)."""
        if not enabled():
            return set()
        owners = set(self.order_by().values_list(self.list_owner, flat=True).distinct())
        field = self.list_owner.removesuffix("_id")
        for key in (self.list_owner, field):
            if "__" not in key and key in changes:
                new = changes[key]
                owners.add(getattr(new, "pk", new))
        return owners


def owner_of(instance: models.Model, path: str) -> int | None:
    """Follow ``path`` ("user_id", "link__user_id") from a row; None if a step is gone (cascade delete)."""
    value = instance
    try:
        for step in path.split("__"):
            value = getattr(value, step)
            if value is None:
                return None
    except ObjectDoesNotExist:  # deleted along with its parent, whose own signal covers it
        return None
    return value


def _list_owner(model: type[models.Model]) -> str | None:
    queryset_class = getattr(model._default_manager, "_queryset_class", None)
    if queryset_class is not None and issubclass(queryset_class, ListCacheQuerySet):
        return queryset_class.list_owner
    return None


def _row_changed(sender, instance, **kwargs) -> None:
    user_changed(owner_of(instance, _list_owner(sender)))


def _relation_changed(sender, instance, action: str, **kwargs) -> None:
    if action.startswith("post_"):  # the instance is either side of the relation (link.tags, tag.links)
        path = _list_owner(type(instance))
        if path is not None:
            user_changed(owner_of(instance, path))


def connect() -> None:
    """Listen to the instance-level changes of every model built on ListCacheQuerySet."""
    for model in apps.get_models():
        if _list_owner(model) is None:
            continue
        label = model._meta.label
        post_save.connect(_row_changed, sender=model, dispatch_uid=f"list-cache-save-{label}")
        post_delete.connect(_row_changed, sender=model, dispatch_uid=f"list-cache-delete-{label}")
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(_relation_changed, sender=field.remote_field.through,
                                dispatch_uid=f"list-cache-m2m-{label}-{field.name}")
