"""Link operations used by the web views, the API and the admin alike."""
from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from snapshots.capture_jobs.queue import request_snapshot
from snapshots.links.submission_guard import validate_submitted_url
from snapshots.links.url_rules import normalize_url
from snapshots.models import Link
from tagging.services import get_or_create_tags, tags_named


@dataclass
class SaveResult:
    link: Link
    created: bool


def save_link(user, url: str, title: str = "", description: str = "", notes: str = "",
              tag_names: list[str] | None = None) -> SaveResult:
    """Save a URL for ``user``; an already-saved URL returns that link with the new tags merged in."""
    normalized = _checked_url(url)
    tags = get_or_create_tags(user, tag_names or [])
    with transaction.atomic():
        link = Link.objects.select_for_update().filter(user=user, url=normalized).first()
        created = link is None
        if created:
            link = _create_link(user, normalized, title, description, notes)
        else:
            _fill_blanks(link, title=title, description=description, notes=notes)
        link.tags.add(*tags)
    if created:
        request_snapshot(link)
    return SaveResult(link=link, created=created)


def checked_url(raw: str) -> str:
    """The normalised URL, refused (ValidationError) when captures may not reach it."""
    return _checked_url(raw)


def _checked_url(raw: str) -> str:
    """The normalised URL, refused (ValidationError on "url") when captures may not reach it."""
    normalized = normalize_url(raw)
    validate_submitted_url(normalized)
    return normalized


def _create_link(user, url: str, title: str, description: str, notes: str) -> Link:
    try:
        with transaction.atomic():
            return Link.objects.create(user=user, url=url, title=title.strip(),
                                       description=description.strip(), notes=notes)
    except IntegrityError:
        # A concurrent request saved the same URL first: treat it as the existing link.
        return Link.objects.get(user=user, url=url)


def _fill_blanks(link: Link, **values: str) -> None:
    """Saving again never erases what is there; it only fills fields left empty."""
    changed = [name for name, value in values.items() if value and not getattr(link, name)]
    for name in changed:
        setattr(link, name, values[name].strip() if name != "notes" else values[name])
    if changed:
        link.save(update_fields=[*changed, "updated_at"])


def update_link(link: Link, *, tag_names: list[str] | None = None, **fields) -> Link:
    """Apply edits; a changed URL is normalised and must not clash with another saved link."""
    if "url" in fields:
        fields["url"] = _checked_url(fields["url"])
        if Link.objects.filter(user=link.user, url=fields["url"]).exclude(pk=link.pk).exists():
            raise ValidationError({"url": "You have already saved this URL as another link."})
    tags = get_or_create_tags(link.user, tag_names) if tag_names is not None else None
    try:
        with transaction.atomic():
            for name, value in fields.items():
                setattr(link, name, value)
            link.save()
            if tags is not None:
                link.tags.set(tags)
    except IntegrityError:  # another request saved this URL between the check and the save
        link.refresh_from_db()
        raise ValidationError({"url": "You have already saved this URL as another link."}) from None
    return link


def bulk_add_tags(links: QuerySet[Link], user, tag_names: list[str]) -> int:
    """Tag every link; one insert per tag (through the tag's related manager, which tells the list cache)."""
    link_ids = list(links.values_list("pk", flat=True))
    for tag in get_or_create_tags(user, tag_names):
        tag.links.add(*link_ids)
    return len(link_ids)


def bulk_remove_tags(links: QuerySet[Link], user, tag_names: list[str]) -> int:
    link_ids = list(links.values_list("pk", flat=True))
    for tag in tags_named(user, tag_names):
        tag.links.remove(*link_ids)
    return len(link_ids)


def bulk_set_archived(links: QuerySet[Link], archived: bool) -> int:
    return _updated(links, archived=archived)


def bulk_set_unread(links: QuerySet[Link], unread: bool) -> int:
    return _updated(links, unread=unread)


def _updated(links: QuerySet[Link], **fields) -> int:
    return links.update(**fields)


def bulk_delete(links: QuerySet[Link]) -> int:
    count = links.count()
    links.delete()
    return count
