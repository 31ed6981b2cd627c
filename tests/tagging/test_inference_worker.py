"""End to end: save a link, a real worker captures it in Chromium, analyses it with the real models
on the inference queue (real Redis broker), and its suggestions appear; a worker that is down
leaves the analysis pending and it completes when the worker returns."""
from __future__ import annotations

import pytest
from django.db import transaction

from snapshots.links.services import save_link
from tagging.models import Analysis
from tagging.services import get_or_create_tags
from tagging.suggestions.service import pending_of
from tests.support.capture_jobs_site import article
from tests.support.celery_worker import Worker, wait_for
from tests.support.pageserver import page

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

POTTERY = ("Throwing a bowl on the pottery wheel starts with centring the clay. Pottery glazes are fired in a "
           "kiln; stoneware pottery needs a higher temperature than earthenware. ")


def start_worker(site, tmp_path, flush: bool = True) -> Worker:
    worker = Worker(tmp_path / "worker.log", {
        "LINKSHOT_ALLOWED_PRIVATE_HOSTS": ",".join(site.allowed_private),
    }, queues="capture,default,inference")
    worker.start(flush=flush)
    return worker


def test_a_saved_link_gets_suggestions_from_a_real_worker(site, alice, tmp_path, settings):
    settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS = site.allowed_private
    site.server.routes["/pottery"] = page(article(title="Pottery for beginners", description="Wheel and kiln",
                                                  text=POTTERY))
    get_or_create_tags(alice, ["pottery", "finance", "football"])
    worker = start_worker(site, tmp_path)
    try:
        with transaction.atomic():
            link = save_link(alice, site.server.url("/pottery")).link
            assert not Analysis.objects.filter(link=link).exists()  # it waits for the capture
        analysis = wait_for(lambda: Analysis.objects.filter(link=link, status="done").first(), 120,
                            "the analysis to finish")
        suggestions = wait_for(lambda: pending_of(link), 10, "suggestions")
    except AssertionError:
        raise AssertionError(worker.log_tail()) from None
    finally:
        worker.stop()
    assert analysis.inputs == ["url", "text", "image"] and analysis.model_version
    # the worker's loaded heap is left out of the collector's full collections from its first batch
    assert "models loaded (onnxruntime) in" in worker.log_tail(400)
    assert "objects kept out of the garbage collector's full collections" in worker.log_tail(400)
    assert suggestions[0].name == "pottery" and "title mentions 'pottery'" in suggestions[0].reasons
    assert "finance" not in [s.name for s in suggestions]


def test_an_analysis_waits_for_a_stopped_inference_worker(site, alice, tmp_path, settings):
    settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS = site.allowed_private
    capture_only = Worker(tmp_path / "capture.log", {
        "LINKSHOT_ALLOWED_PRIVATE_HOSTS": ",".join(site.allowed_private),
    }, queues="capture,default")
    capture_only.start()
    try:
        with transaction.atomic():
            link = save_link(alice, site.server.url("/article")).link
        wait_for(lambda: link.snapshots.filter(status="done").exists(), 60, "the capture")
        wait_for(lambda: capture_only.queue_length("inference"), 10, "the analysis message")
        assert Analysis.objects.get(link=link).status == "pending"
    finally:
        capture_only.stop()
    worker = start_worker(site, tmp_path, flush=False)  # the inference worker returns: its message is served
    try:
        wait_for(lambda: Analysis.objects.filter(link=link, status="done").exists(), 120, "the analysis")
    except AssertionError:
        raise AssertionError(worker.log_tail()) from None
    finally:
        worker.stop()
