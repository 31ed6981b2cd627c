"""One batch of entries written in one transaction: new links, their tags, pending snapshots, issues.

Bulk inserts keep a 10,000-entry file to a few hundred queries. Nothing that exists is changed:
a URL already saved (before the import, earlier in the file, or by hand a moment ago) is skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, F, Value, When

from imports.entry_check import Checked, Skipped
from imports.models import ImportIssue, ImportJob
from snapshots import list_cache
from snapshots.models import Link, Snapshot
from tagging import memberships
from tagging.models import Tag
from tagging.names import tag_key
from tagging.services import tags_named

ALREADY_SAVED = "Already saved (before this import or earlier in this file); left as it was."


@dataclass
class BatchResult:
    imported: int = 0
    skipped: int = 0
    snapshot_ids: list[int] = field(default_factory=list)


def write_batch(job: ImportJob, results: list[Checked | Skipped]) -> BatchResult:
    """Insert the batch's new links and record its issues; the caller holds the transaction."""
    skips = [item for item in results if isinstance(item, Skipped)]
    fresh = _first_of_each_url([item for item in results if isinstance(item, Checked)], skips)
    for attempt in (1, 2):
        new, saved = _split_saved(job.user, fresh)
        try:
            with transaction.atomic():
                snapshot_ids = _insert(job, new)
            break
        except IntegrityError:
            # Someone saved one of these URLs between the check and the insert: look again, once.
            if attempt == 2:
                raise
    skips += saved
    _record_issues(job, skips, new)
    list_cache.user_changed(job.user_id)  # the tag rows were bulk-inserted behind the cache's back
    return BatchResult(imported=len(new), skipped=len(skips), snapshot_ids=snapshot_ids)


def _first_of_each_url(checked: list[Checked], skips: list[Skipped]) -> list[Checked]:
    first: dict[str, Checked] = {}
    for item in checked:
        if item.url in first:
            skips.append(Skipped(item.position, item.url, f"Same URL as entry {first[item.url].position} of this file."))
        else:
            first[item.url] = item
    return list(first.values())


def _split_saved(user, fresh: list[Checked]) -> tuple[list[Checked], list[Skipped]]:
    saved = set(Link.objects.filter(user=user, url__in=[c.url for c in fresh]).values_list("url", flat=True))
    new = [c for c in fresh if c.url not in saved]
    return new, [Skipped(c.position, c.url, ALREADY_SAVED) for c in fresh if c.url in saved]


def _insert(job: ImportJob, new: list[Checked]) -> list[int]:
    if not new:
        return []
    tags = _tags_by_name(job.user, {name for checked in new for name in checked.tags})
    links = Link.objects.bulk_create([
        Link(user=job.user, url=c.url, title=c.title, description=c.description, notes=c.notes,
             unread=c.unread, archived=c.archived) for c in new
    ])
    _keep_dates(links, new)
    through = Link.tags.through
    through.objects.bulk_create([
        through(link_id=link.pk, tag_id=tags[tag_key(name)].pk) for link, c in zip(links, new) for name in c.tags
    ])
    memberships.changed(job.user_id)  # the through table's own manager sends no signal
    snapshots = Snapshot.objects.bulk_create([Snapshot(link_id=link.pk, bulk=True) for link in links])
    return [snapshot.pk for snapshot in snapshots]


def _tags_by_name(user, names: set[str]) -> dict[str, Tag]:
    """The user's tags for ``names`` (any case), creating the missing ones in one insert."""
    found = {tag.name_key: tag for tag in tags_named(user, list(names))}
    missing = {tag_key(name): name for name in names if tag_key(name) not in found}
    if missing:
        Tag.objects.bulk_create([Tag(user=user, name=name, name_key=key) for key, name in missing.items()],
                                ignore_conflicts=True)
        found = {tag.name_key: tag for tag in tags_named(user, list(names))}
    return found


def _keep_dates(links: list[Link], new: list[Checked]) -> None:
    """The file's added/modified dates replace the insert time (auto_now_add cannot be told otherwise)."""
    added = [When(pk=link.pk, then=Value(c.added)) for link, c in zip(links, new) if c.added]
    modified = [When(pk=link.pk, then=Value(c.modified or c.added)) for link, c in zip(links, new)
                if c.modified or c.added]
    if not modified:
        return
    Link.objects.filter(pk__in=[link.pk for link in links]).update(
        created_at=Case(*added, default=F("created_at"), output_field=DateTimeField()) if added else F("created_at"),
        updated_at=Case(*modified, default=F("updated_at"), output_field=DateTimeField()),
    )


def _record_issues(job: ImportJob, skips: list[Skipped], new: list[Checked]) -> None:
    issues = [ImportIssue(job=job, position=s.position, url=s.url[:2048], reason=s.reason) for s in skips]
    issues += [ImportIssue(job=job, position=c.position, url=c.url, reason=note, skipped=False)
               for c in new for note in c.notes_on_entry]
    ImportIssue.objects.bulk_create(issues)
