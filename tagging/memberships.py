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

from snapshots.list_cache import UserVersion

MEMBERSHIPS = UserVersion("tag-memberships")


def changed(*user_ids: int | None) -> None:
    """These people's links gained or lost tags (now, and again after the transaction commits)."""
    MEMBERSHIPS.changed(*user_ids)


def current(user_id: int) -> str | None:
    """The person's token; None when unknown (no shared cache): then memberships are read every time."""
    return MEMBERSHIPS.current(user_id)


def relation_changed(sender, instance, action: str, **kwargs) -> None:
    """m2m_changed of Link.tags: ``instance`` is a Link or a Tag, both with the owner's id."""
    if action.startswith("post_"):
        changed(getattr(instance, "user_id", None))


def tag_deleted(sender, instance, **kwargs) -> None:
    changed(instance.user_id)
