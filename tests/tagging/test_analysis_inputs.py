"""What the models read of a link: text, screenshot, and the captured HTML's headings and keywords."""
from __future__ import annotations

from django.core.files.base import ContentFile

from snapshots.models import Link, Snapshot
from tagging.analysis.inputs import html_terms, inputs_of
from tests.tagging.helpers import captured_link

HTML = b"""<!doctype html><html><head><title>x</title><meta name="keywords" content="Celery, task queues , ,redis">
</head><body><h1>Workers</h1><div><h2>Routing   tasks</h2><h4>not this</h4></div><h3></h3></body></html>"""


def test_headings_and_keywords_come_from_the_captured_html(alice):
    link = captured_link(alice, "https://example.org/a", "A", "text", queue=False)
    snapshot = link.snapshots.get()
    snapshot.html.save("page.html", ContentFile(HTML), save=True)
    assert html_terms(snapshot) == {"headings": ["Workers", "Routing tasks"], "keywords": ["Celery", "task queues", "redis"]}
    got = inputs_of(link, snapshot)
    assert got.terms["headings"] == ["Workers", "Routing tasks"] and "redis" in got.page.keywords


def test_unreadable_html_gives_no_terms(alice):
    link = captured_link(alice, "https://example.org/b", "B", "text", queue=False)
    snapshot = link.snapshots.get()
    snapshot.html.save("page.html", ContentFile(b""), save=True)
    assert html_terms(snapshot) == {"headings": [], "keywords": []}
    snapshot.html.storage.delete(snapshot.html.name)
    assert html_terms(snapshot) == {"headings": [], "keywords": []}


def test_a_failed_capture_reads_only_what_the_person_gave(alice):
    link = Link.objects.create(user=alice, url="https://example.org/docs/celery-routing", title="Celery routing",
                               description="How tasks find queues")
    snapshot = Snapshot.objects.create(link=link, status=Snapshot.Status.FAILED, text="ignored")
    got = inputs_of(link, snapshot)
    assert got.used == ["url"] and got.image is None
    assert got.text.splitlines() == ["Celery routing", "How tasks find queues", "example docs celery routing"]
