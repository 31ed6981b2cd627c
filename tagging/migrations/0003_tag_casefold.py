"""Tags are unique per user by their case-folded name (tagging.names.tag_key) on every database.

Existing tags that differ only in non-ASCII case (possible on SQLite before) are merged into the
oldest one: its links gain the others' links and their suggestions point at it, nothing is lost.
"""
import unicodedata

from django.db import migrations, models


def _key(name: str) -> str:  # tagging.names.tag_key as of this migration
    return unicodedata.normalize("NFC", name).casefold()


def fill_keys_merging_duplicates(apps, schema_editor):
    Tag = apps.get_model("tagging", "Tag")
    TagSuggestion = apps.get_model("tagging", "TagSuggestion")
    through = Tag.links.through
    kept: dict[tuple[int, str], int] = {}
    for tag in Tag.objects.order_by("pk").only("pk", "user_id", "name"):
        key = (tag.user_id, _key(tag.name))
        if key not in kept:
            kept[key] = tag.pk
            Tag.objects.filter(pk=tag.pk).update(name_key=key[1])
            continue
        target = kept[key]
        already = through.objects.filter(tag_id=target).values_list("link_id", flat=True)
        moving = through.objects.filter(tag_id=tag.pk).exclude(link_id__in=already).values_list("link_id", flat=True)
        through.objects.bulk_create([through(tag_id=target, link_id=link_id) for link_id in list(moving)])
        # The suggestion keeps its own name, so its (link, name) uniqueness is untouched.
        TagSuggestion.objects.filter(tag_id=tag.pk).update(tag_id=target)
        Tag.objects.filter(pk=tag.pk).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("tagging", "0002_analysis_suggestions"),
        ("snapshots", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="tag",
            name="name_key",
            field=models.CharField(default="", editable=False, max_length=192),
            preserve_default=False,
        ),
        migrations.RunPython(fill_keys_merging_duplicates, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="tag", name="tag_unique_name_per_user"),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.UniqueConstraint(models.F("user"), models.F("name_key"),
                                               name="tag_unique_folded_name_per_user"),
        ),
    ]
