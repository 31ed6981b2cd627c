"""What the management commands share about people."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def person_named(username: str | None):
    """The person a command's ``--user NAME`` names, or None without one (everyone's data)."""
    if username is None:
        return None
    person = get_user_model().objects.filter(username=username).first()
    if person is None:
        raise CommandError(f"There is no user named {username!r}.")
    return person
