"""Webhooks: SSRF-checked targets, signed JSON to loopback servers, retries with backoff, deliveries listed."""
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError

from accounts import webhook_attempts, webhook_delivery, webhooks
from accounts.models import Webhook, WebhookDelivery
from accounts.tasks import deliver_webhook
from snapshots.links.services import save_link, update_link
from snapshots.models import Snapshot
from snapshots.signals import snapshot_captured

pytestmark = pytest.mark.django_db


class Receiver:
    """A loopback HTTP server that records POSTs and answers with the next queued status."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?x=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    server = Receiver()
    # Loopback is private: allowed here exactly as LINKSHOT_ALLOWED_PRIVATE_HOSTS allows a LAN host.
    settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS = [f"127.0.0.1:{server.server.server_port}"]
    yield server
    server.close()


def deliver_all() -> None:
    for delivery in WebhookDelivery.objects.filter(status="pending"):
        webhook_attempts.attempt(delivery.pk)


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://10.1.2.3/x", "http://169.254.169.254/latest/",
                                 "http://[::ffff:192.168.0.1]/", "http://localhost:8000/"])
def test_private_targets_are_refused_at_registration(alice, url):
    with pytest.raises(ValidationError) as caught:
        webhooks.add_webhook(alice, url, [])
    assert "cannot be reached" in caught.value.message_dict["url"][0]
    assert not Webhook.objects.exists()


def test_link_created_is_signed_json(alice, receiver, django_capture_on_commit_callbacks):
    hook = webhooks.add_webhook(alice, receiver.url, ["link.created"])
    with django_capture_on_commit_callbacks(execute=True):
        save_link(alice, "https://example.com/new", title="New", tag_names=["t"])
    [delivery] = WebhookDelivery.objects.filter(event="link.created")
    webhook_attempts.attempt(delivery.pk)
    [request] = receiver.requests
    body = request["body"]
    assert request["path"] == "/hook?x=1" and request["headers"]["X-Linkshot-Event"] == "link.created"
    expected = "sha256=" + hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert request["headers"]["X-Linkshot-Signature"] == expected
    data = json.loads(body)["data"]
    assert (data["url"], data["tags"]) == ("https://example.com/new", ["t"])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status, delivery.attempts) == ("delivered", 200, 1)


def test_tags_changed_and_snapshot_finished(alice, receiver, django_capture_on_commit_callbacks):
    webhooks.add_webhook(alice, receiver.url, ["link.tags_changed", "snapshot.finished"])
    link = save_link(alice, "https://example.com/a").link
    update_link(link, tag_names=["x", "y"])
    snapshot = link.snapshots.get()
    Snapshot.objects.filter(pk=snapshot.pk).update(status="done", title="Captured")
    snapshot.refresh_from_db()
    snapshot_captured.send(sender=Snapshot, snapshot=snapshot)
    events = list(WebhookDelivery.objects.order_by("id").values_list("event", flat=True))
    assert "link.tags_changed" in events and events[-1] == "snapshot.finished"
    assert "link.created" not in events  # not asked for
    deliver_all()
    assert {json.loads(r["body"])["event"] for r in receiver.requests} == {"link.tags_changed", "snapshot.finished"}


def test_failures_are_retried_with_growing_delays_then_given_up(alice, receiver, settings):
    settings.LINKSHOT_WEBHOOK_MAX_ATTEMPTS = 3
    settings.LINKSHOT_WEBHOOK_RETRY_BASE_SECONDS = 10
    hook = webhooks.add_webhook(alice, receiver.url, [])
    delivery = webhooks.send_test(hook)
    receiver.statuses = [500, 503, 500]
    first = webhook_attempts.attempt(delivery.pk)
    second = webhook_attempts.attempt(delivery.pk)
    assert 8 <= first <= 12 and 16 <= second <= 24
    assert webhook_attempts.attempt(delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "HTTP 500" in delivery.error and "Gave up after 3" in delivery.error
    assert len(receiver.requests) == 3


def test_a_retry_that_succeeds_is_delivered(alice, receiver):
    hook = webhooks.add_webhook(alice, receiver.url, [])
    delivery = webhooks.send_test(hook)
    receiver.statuses = [502]
    assert webhook_attempts.attempt(delivery.pk) is not None
    assert webhook_attempts.attempt(delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_a_target_that_became_private_is_refused_at_delivery(alice, receiver, settings):
    hook = webhooks.add_webhook(alice, receiver.url, [])
    settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS = []  # e.g. the allowance was withdrawn
    delivery = webhooks.send_test(hook)
    assert webhook_attempts.attempt(delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "cannot be reached" in delivery.error
    assert receiver.requests == []


def test_the_checked_address_is_the_one_connected_to(settings):
    settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS = []
    with pytest.raises(webhook_delivery.Refused):
        webhook_delivery.check_target("http://localhost/")  # a name resolving to loopback
    assert webhook_delivery.check_target("http://93.184.215.14/x") == "93.184.215.14"
    with pytest.raises(OSError, match="could not be found"):
        webhook_delivery.check_target("https://unresolvable.example/")  # retried, not refused


def test_an_unresolvable_target_is_retried(alice, settings):
    hook = Webhook.objects.create(user=alice, url="https://unresolvable.example/hook")
    delivery = webhooks.send_test(hook)
    assert webhook_attempts.attempt(delivery.pk) is not None
    delivery.refresh_from_db()
    assert delivery.status == "pending" and "could not be found" in delivery.error


def test_settings_page_adds_tests_lists_and_removes_webhooks(alice_client, alice, bob, receiver,
                                                            django_capture_on_commit_callbacks):
    response = alice_client.post("/settings/webhooks/", {"url": receiver.url, "events": ["link.created"]})
    assert response.status_code == 302
    hook = Webhook.objects.get(user=alice)
    with django_capture_on_commit_callbacks() as callbacks:
        alice_client.post(f"/settings/webhooks/{hook.pk}/test/")
    assert callbacks  # the send is queued after commit
    deliver_all()
    page = alice_client.get("/settings/").content.decode()
    assert 'data-delivery-status="delivered"' in page and "ping" in page and "HTTP 200" in page
    refused = alice_client.post("/settings/webhooks/", {"url": "http://192.168.1.1/"})
    assert refused.status_code == 400 and "cannot be reached" in refused.content.decode()
    other = Webhook.objects.create(user=bob, url="https://example.com/")
    assert alice_client.post(f"/settings/webhooks/{other.pk}/test/").status_code == 404
    assert alice_client.post(f"/settings/webhooks/{other.pk}/delete/").status_code == 404
    alice_client.post(f"/settings/webhooks/{hook.pk}/delete/")
    assert not Webhook.objects.filter(user=alice).exists()


def test_the_celery_task_retries_a_failed_delivery(alice, receiver):
    hook = webhooks.add_webhook(alice, receiver.url, [])
    delivery = webhooks.send_test(hook)
    receiver.statuses = [500]
    # Run eagerly, Celery performs the retry at once instead of after the countdown.
    assert deliver_webhook.apply(args=(delivery.pk,)).state == "SUCCESS"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("delivered", 2, 2)
