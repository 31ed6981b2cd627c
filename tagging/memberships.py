"""A per-person token that moves whenever a link's tags change, and only then.

The suggestion scorer keeps each person's tag memberships in memory (tagging/analysis/library.py)
and reads them again only when this token moved. The list cache's version moves on every change
of a person's links, snapshots and analyses, including every batch a re-analysis writes; keyed on
it, all memberships were read again after each batch although no tag had changed.

What moves it: any change through ``Link.tags`` or ``Tag.links`` (m2m_changed, either side), a tag
deleted (its memberships go with it), and the writers that insert into the through table directly
(no signal), which call :func:`changed`: the applied suggestions, accept-above and the import.
"""
from __future__ import annotations

from django.db.models import Count, Max, Sum

from snapshots.list_cache import UserVersion
from snapshots.models import Link

MEMBERSHIPS = UserVersion("tag-memberships")


def changed(*user_ids: int | None) -> None:
    """These people's links gained or lost tags (now, and again after the transaction commits)."""
    MEMBERSHIPS.changed(*user_ids)


def current(user_id: int) -> str:
    """The person's token: the shared cache's, or where there is none (or it is down) a summary of
    the memberships read from the database (:func:`stored_summary`)."""
    return MEMBERSHIPS.current(user_id) or stored_summary(user_id)


def stored_summary(user_id: int) -> str:
    """The count, highest id and id sums of the person's memberships, in one aggregate query.

    Rows of the through table are only inserted and deleted, never changed, and their ids only
    grow (AUTOINCREMENT on SQLite, a sequence on Postgres): a row added moves the highest id, a
    row deleted moves the count, so the summary moves whenever the memberships do. Reading it
    costs a scan of the person's rows inside the database, not a Python loop over them (the
    scorer's library reads all of them again only when it moved).
    """
    got = Link.tags.through.objects.filter(link__user_id=user_id).aggregate(
        n=Count("pk"), top=Max("pk"), links=Sum("link_id"), tags=Sum("tag_id"))
    return "db:{n}:{top}:{links}:{tags}".format(**got)


def relation_changed(sender, instance, action: str, **kwargs) -> None:
    """m2m_changed of Link.tags: ``instance`` is a Link or a Tag, both with the owner's id."""
    if action.startswith("post_"):
        changed(getattr(instance, "user_id", None))


def tag_deleted(sender, instance, **kwargs) -> None:
    changed(instance.user_id)
