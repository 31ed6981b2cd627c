"""Which model changes become webhook events: link created, snapshot finished, tags changed.

Bulk imports insert links without save signals, so they send no "link.created" per imported link.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from accounts import webhooks
from snapshots.models import Link
from snapshots.signals import snapshot_captured


def link_payload(link: Link) -> dict:
    return {"id": link.pk, "url": link.url, "title": link.title, "tags": [tag.name for tag in link.tags.all()],
            "unread": link.unread, "archived": link.archived, "created_at": link.created_at.isoformat()}


@receiver(post_save, sender=Link, dispatch_uid="webhook-link-created")
def _link_created(sender, instance: Link, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw and webhooks.has_webhooks(instance.user_id):
        # After commit, so the payload carries the tags saved with the link.
        transaction.on_commit(lambda: _announce_created(instance.pk), robust=True)


def _announce_created(link_id: int) -> None:
    link = Link.objects.filter(pk=link_id).prefetch_related("tags").first()
    if link is not None:
        webhooks.record(link.user_id, "link.created", link_payload(link))


@receiver(snapshot_captured, dispatch_uid="webhook-snapshot-finished")
def _snapshot_finished(sender, snapshot, **kwargs) -> None:
    link = snapshot.link
    webhooks.record(link.user_id, "snapshot.finished", {
        "link": link_payload(link), "snapshot": {"id": snapshot.pk, "status": snapshot.status,
                                                 "title": snapshot.title, "final_url": snapshot.final_url,
                                                 "http_status": snapshot.http_status}})


@receiver(m2m_changed, sender=Link.tags.through, dispatch_uid="webhook-tags-changed")
def _tags_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse and not pk_set:
        return  # tag.links.clear() does not say which links lost the tag
    if not webhooks.has_webhooks(instance.user_id):
        return
    links = Link.objects.filter(pk__in=pk_set) if reverse else [instance]
    for link in links:
        webhooks.record(link.user_id, "link.tags_changed", link_payload(link))
