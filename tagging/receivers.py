"""What the tagging app does when something happens elsewhere (connected in apps.py).

* a capture finished (done, or failed for good): the link is analysed; a failed capture still
  gets a text-only analysis from its URL, title and description;
* the vocabulary changed (a tag created, renamed, merged or deleted): pending suggestions are
  re-scored from the stored vectors;
* a person added a suggested tag by hand: that suggestion counts as accepted;
* a link's tags changed or a tag was deleted: the scorer's tag memberships are read again
  (tagging/memberships.py).
"""
from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save

from snapshots.models import Link
from snapshots.signals import snapshot_captured, snapshot_failed
from tagging import memberships, tasks
from tagging.analysis import jobs as analysis_jobs
from tagging.models import Tag, TagSuggestion
from tagging.suggestions.service import tagged_by_hand


def analyse_snapshot(sender, snapshot, **kwargs) -> None:
    analysis_jobs.queue_analysis(snapshot.link, snapshot)
    tasks.send_drain_on_commit()


def vocabulary_saved(sender, instance: Tag, created: bool, **kwargs) -> None:
    if not created:  # a rename: decisions follow the tag's new name
        TagSuggestion.objects.filter(tag=instance).exclude(name=instance.name).update(name=instance.name)
    tasks.send_rescore_on_commit(instance.user_id)


def vocabulary_deleted(sender, instance: Tag, **kwargs) -> None:
    tasks.send_rescore_on_commit(instance.user_id)


def link_tags_changed(sender, instance, action: str, model, pk_set, **kwargs) -> None:
    if action == "post_add" and isinstance(instance, Link) and pk_set:
        tagged_by_hand(instance, pk_set)


def connect() -> None:
    snapshot_captured.connect(analyse_snapshot, dispatch_uid="tagging-analyse-captured")
    snapshot_failed.connect(analyse_snapshot, dispatch_uid="tagging-analyse-failed")
    post_save.connect(vocabulary_saved, sender=Tag, dispatch_uid="tagging-vocabulary-saved")
    post_delete.connect(vocabulary_deleted, sender=Tag, dispatch_uid="tagging-vocabulary-deleted")
    m2m_changed.connect(link_tags_changed, sender="snapshots.Link_tags", dispatch_uid="tagging-tagged-by-hand")
    m2m_changed.connect(memberships.relation_changed, sender="snapshots.Link_tags",
                        dispatch_uid="tagging-memberships-changed")
    post_delete.connect(memberships.tag_deleted, sender=Tag, dispatch_uid="tagging-memberships-tag-deleted")
