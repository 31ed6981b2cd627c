"""Small factories for test data (plain functions over the real services)."""
from __future__ import annotations

from django.contrib.auth import get_user_model

from snapshots.links.services import save_link
from snapshots.models import Link

PASSWORD = "correct horse battery staple"


def make_user(username: str, **extra):
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)


def make_link(user, url: str, tags: list[str] | None = None, **fields) -> Link:
    return save_link(user, url, tag_names=tags or [], **fields).link
