"""One try of one delivery, and when to try again (exponential backoff with jitter)."""
from __future__ import annotations

import random

from django.conf import settings
from django.utils import timezone

from accounts import webhook_delivery
from accounts.models import WebhookDelivery

D = WebhookDelivery.Status


def attempt(delivery_id: int) -> float | None:
    """Try one delivery; the seconds to wait before the next try, or None when it is settled."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id, status=D.PENDING).first()
    if delivery is None:
        return None
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    hook = delivery.webhook
    try:
        answer = webhook_delivery.post(hook.url, hook.secret, delivery.event, delivery.pk, delivery.payload)
    except webhook_delivery.Refused as exc:
        return _settle(delivery, D.FAILED, error=str(exc))
    except OSError as exc:
        return _again(delivery, f"Could not connect: {exc}")
    delivery.response_status = answer.status
    if 200 <= answer.status < 300:
        return _settle(delivery, D.DELIVERED, error="")
    return _again(delivery, f"The target answered HTTP {answer.status}.")


def _settle(delivery: WebhookDelivery, status: str, error: str) -> None:
    delivery.status, delivery.error = status, error
    delivery.save()
    return None


def _again(delivery: WebhookDelivery, error: str) -> float | None:
    if delivery.attempts >= settings.LINKSHOT_WEBHOOK_MAX_ATTEMPTS:
        return _settle(delivery, D.FAILED, error=f"{error} Gave up after {delivery.attempts} attempts.")
    delivery.error = error
    delivery.save()
    base = settings.LINKSHOT_WEBHOOK_RETRY_BASE_SECONDS * 2 ** (delivery.attempts - 1)
    return base * random.uniform(0.8, 1.2)
