"""/add/?url=… (the bookmarklet) for a URL the person already saved: find it and prefill from it."""
from __future__ import annotations

from django.core.exceptions import ValidationError

from snapshots.models import Link
from snapshots.links.url_rules import normalize_url


def saved_link_for(user, raw_url: str) -> Link | None:
    """The person's saved link for ``raw_url`` (compared in normalised form), None if not saved."""
    if not raw_url:
        return None
    try:
        url = normalize_url(raw_url)
    except ValidationError:
        return None  # the form says what is wrong with it once submitted
    return Link.objects.filter(user=user, url=url).prefetch_related("tags").first()


def prefill_from(link: Link, given: dict[str, str]) -> dict:
    """The form's initial values: what the bookmarklet sent, else what the saved link has."""
    return {
        "url": link.url,
        "title": given.get("title") or link.title,
        "description": given.get("description") or link.description,
        "notes": link.notes,
        "tags": [tag.name for tag in link.tags.all()],
    }
