import os
import subprocess
import sys
import time

import pytest
from django.db import OperationalError, connection

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["broker"] == "ok"
    assert set(body["workers"]) == {"count", "names"}


def test_healthz_is_503_when_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] != "ok"


def test_healthz_is_503_when_database_is_down(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "connection refused" in response.json()["database"]


@pytest.mark.no_postgres
def test_healthz_counts_a_running_worker(client, settings):
    env = {**os.environ, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-Q", "healthcheck",
         "--hostname", "healthz-test@%h", "--without-gossip", "--without-mingle"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 40
        names = []
        while time.monotonic() < deadline and not any(n.startswith("healthz-test@") for n in names):
            names = client.get("/healthz").json()["workers"]["names"]
            time.sleep(0.5)
        assert any(name.startswith("healthz-test@") for name in names)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
