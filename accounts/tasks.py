from __future__ import annotations

from celery import shared_task

from accounts import webhook_attempts


@shared_task(bind=True, name="accounts.deliver_webhook", queue="default", acks_late=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> None:
    """Send one delivery; failures come back with exponential backoff until the attempts run out."""
    wait = webhook_attempts.attempt(delivery_id)
    if wait is not None:
        raise self.retry(countdown=wait)
