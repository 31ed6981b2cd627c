"""A Redis that hangs (SIGSTOP) never holds a save or the health check."""
import shutil
import threading
import time

import pytest

from config.celery import app as celery_app
from snapshots.capture_jobs.schedule import pending_with_lost_message
from snapshots.models import Link, Snapshot
from tests.api.conftest import token_client
from tests.support.hung_redis import hung_redis

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")]


@pytest.fixture
def broker_hangs(settings):
    """The web process's broker and cache are one hung Redis, as in the embedded default."""
    with hung_redis() as url:
        old = celery_app.conf.broker_url
        settings.CELERY_BROKER_URL = url
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}
        _use_broker(url)
        try:
            yield url
        finally:
            _use_broker(old)


def _use_broker(url: str) -> None:
    # Drop the references only: kombu keeps one pool per URL and hands the same one back later.
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _within(seconds: float, call):
    """call()'s result, or an assertion error when it is still running after ``seconds``."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", call()), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return box["result"], time.monotonic() - started


def test_save_during_a_redis_hang_is_accepted_and_sent_again_later(broker_hangs, alice, settings):
    api = token_client(alice)
    response, took = _within(10, lambda: api.post("/api/links/", {"url": "https://example.com/hang"},
                                                  format="json"))
    assert response.status_code == 201, response.content
    assert took < 8, f"the save took {took:.1f} s"
    snapshot = Snapshot.objects.get(link__url="https://example.com/hang")
    assert snapshot.status == Snapshot.Status.PENDING and snapshot.queued_at is None
    settings.LINKSHOT_UNSENT_RESEND_AFTER_S = 0
    assert pending_with_lost_message() == [snapshot.pk]
    assert Link.objects.filter(user=alice).count() == 1


def test_healthz_answers_503_within_two_seconds(broker_hangs, client):
    response, took = _within(5, lambda: client.get("/healthz"))
    assert took < 2
    assert response.status_code == 503
    assert "did not answer" in response.json()["broker"]


def test_pages_answer_during_a_redis_hang(broker_hangs, alice, client):
    client.force_login(alice)
    response, took = _within(10, lambda: client.get("/"))
    assert response.status_code == 200
    assert took < 3, f"the list took {took:.1f} s"
