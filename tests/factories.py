"""Small factories for test data (plain functions over the real services)."""
from __future__ import annotations

from django.contrib.auth import get_user_model

from snapshots.links.services import save_link
from snapshots.models import Link
from tagging.models import Analysis, Tag, TagSuggestion

PASSWORD = "correct horse battery staple"


def make_user(username: str, **extra):
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)


def make_link(user, url: str, tags: list[str] | None = None, **fields) -> Link:
    return save_link(user, url, tag_names=tags or [], **fields).link


def make_analysis(link: Link, status: str = "done", **fields):
    """The analysis row of a link, as the inference worker leaves it (no vectors: the UI never reads them)."""
    return Analysis.objects.update_or_create(link=link, defaults={"user_id": link.user_id, "status": status,
                                                                  **fields})[0]


def make_suggestion(link: Link, name: str, score: float, reasons: list[str] | None = None,
                    existing: bool = True, state: str = "pending"):
    """A suggestion of ``name`` for ``link``; ``existing`` links it to the owner's tag of that name (created)."""
    tag = Tag.objects.get_or_create(user_id=link.user_id, name=name)[0] if existing else None
    return TagSuggestion.objects.create(link=link, user_id=link.user_id, tag=tag, name=name, score=score,
                                        reasons=reasons or [], state=state)
