"""Webhooks: registering targets, recording a delivery per event and webhook, sending them after commit."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import webhook_delivery
from accounts.models import Webhook, WebhookDelivery
from accounts.tasks import deliver_webhook
from snapshots.links.url_rules import normalize_url


def add_webhook(user, url: str, events: list[str]) -> Webhook:
    """Register a target; private and internal addresses are refused as for captures."""
    try:
        normalized = normalize_url(url)
    except ValidationError as error:
        raise ValidationError({"url": error.messages}) from None
    try:
        webhook_delivery.check_target(normalized)
    except webhook_delivery.Refused as exc:
        raise ValidationError({"url": str(exc)}) from None
    except OSError:
        pass  # a host that does not resolve right now: deliveries will say so
    unknown = set(events) - set(Webhook.Event.values)
    if unknown:
        raise ValidationError({"events": f"Unknown events: {', '.join(sorted(unknown))}."})
    return Webhook.objects.create(user=user, url=normalized, events=list(events))


def record(user_id: int, event: str, payload: dict) -> list[int]:
    """One pending delivery per interested webhook of the person, sent after commit."""
    hooks = [hook for hook in Webhook.objects.filter(user_id=user_id, active=True) if hook.wants(event)]
    body = {"event": event, "sent_at": timezone.now().isoformat(), "data": payload}
    ids = [WebhookDelivery.objects.create(webhook=hook, event=event, payload=body).pk for hook in hooks]
    if ids:
        transaction.on_commit(lambda: _send_all(ids), robust=True)
    return ids


def send_test(webhook: Webhook) -> WebhookDelivery:
    body = {"event": "ping", "sent_at": timezone.now().isoformat(), "data": {"webhook": webhook.pk}}
    delivery = WebhookDelivery.objects.create(webhook=webhook, event="ping", payload=body)
    transaction.on_commit(lambda: _send_all([delivery.pk]), robust=True)
    return delivery


def _send_all(ids: list[int]) -> None:
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)


def has_webhooks(user_id: int) -> bool:
    return Webhook.objects.filter(user_id=user_id, active=True).exists()
