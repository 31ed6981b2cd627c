"""Tag vocabulary operations: find-or-create, rename, merge, delete."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from tagging.models import Tag
from tagging.names import clean_tag_name, clean_tag_names, tag_key


def tags_named(user, names: list[str]) -> QuerySet[Tag]:
    """The user's tags whose names match ``names`` case-insensitively (through the unique index)."""
    return Tag.objects.filter(user=user, name_key__in=[tag_key(name) for name in names])


def get_or_create_tags(user, names: list[str]) -> list[Tag]:
    """Return the user's tags for ``names`` (case-insensitively), creating missing ones."""
    cleaned = clean_tag_names(names)
    if not cleaned:
        return []
    existing = {tag.name_key: tag for tag in tags_named(user, cleaned)}
    tags = []
    for name in cleaned:
        tag = existing.get(tag_key(name))
        if tag is None:
            tag = _create_tag(user, name)
        tags.append(tag)
    return tags


def _create_tag(user, name: str) -> Tag:
    try:
        with transaction.atomic():
            return Tag.objects.create(user=user, name=name)
    except IntegrityError:
        # Another request created it a moment ago.
        return Tag.objects.get(user=user, name_key=tag_key(name))


def create_tag(user, raw_name: str) -> Tag:
    name = clean_tag_name(raw_name)
    existing = tags_named(user, [name]).first()
    if existing is not None:
        raise ValidationError({"name": f"You already have this tag: “{existing.name}”."})
    return _create_tag(user, name)


def rename_tag(tag: Tag, raw_name: str) -> Tag:
    name = clean_tag_name(raw_name)
    clash = tags_named(tag.user, [name]).exclude(pk=tag.pk).first()
    if clash is None:
        try:
            with transaction.atomic():
                tag.name = name
                tag.save(update_fields=["name"])
                return tag
        except IntegrityError:  # taken by another request between the check and the save
            clash = tags_named(tag.user, [name]).exclude(pk=tag.pk).first()
    shown = clash.name if clash is not None else name
    raise ValidationError({"name": f"You already have a tag named “{shown}”; merge into it instead of renaming."})


@transaction.atomic
def merge_tags(source: Tag, target: Tag) -> Tag:
    """Move every link of ``source`` onto ``target`` and delete ``source``; nothing is lost."""
    if source.user_id != target.user_id:
        raise ValidationError({"into": "Tags can only be merged within one account."})
    if source.pk == target.pk:
        raise ValidationError({"into": "A tag cannot be merged into itself."})
    target.links.add(*source.links.values_list("pk", flat=True))  # add() skips the links target already has
    source.delete()
    return target


def delete_tag(tag: Tag) -> None:
    """Delete a tag; its links stay, only the label goes."""
    tag.delete()
