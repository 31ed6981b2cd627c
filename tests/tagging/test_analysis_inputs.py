"""What the models read of a link: text, screenshot, and the captured HTML's headings and keywords."""
from __future__ import annotations

from django.core.files.base import ContentFile

from snapshots.models import Link, Snapshot
from tagging.analysis.inputs import html_terms, inputs_of
from tagging.scoring.words import PageWords
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


def test_inputs_for_vectors_only_leave_out_the_words_mentions_are_looked_for_in(alice):
    link = captured_link(alice, "https://example.org/celery", "Celery workers", "Routing tasks to queues. " * 20,
                         queue=False)
    snapshot = link.snapshots.get()
    snapshot.html.save("page.html", ContentFile(HTML), save=True)
    scored, stored = inputs_of(link, snapshot), inputs_of(link, snapshot, mentions=False)
    assert scored.page.title == ["celery", "worker"] and scored.page.body["queue"] == 20
    assert stored.page == PageWords()
    assert (stored.text, stored.image, stored.used, stored.terms) == (scored.text, scored.image, scored.used,
                                                                      scored.terms)
    assert all((a == b).all() for a, b in zip(stored.lexical, scored.lexical))  # the terms stored all the same


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


def _analyse_without_models(limit: int = 10):
    """Claim and store a batch as the worker does, with no model outputs (the terms are what is checked)."""
    from tagging.analysis import run

    claimed = run.claim(limit)
    run.store_vectors(claimed, run.Embedded())
    return claimed


def test_a_reanalysis_of_the_same_snapshot_takes_its_stored_terms_instead_of_parsing_the_html(alice):
    from tagging.analysis import jobs as analysis_jobs

    link = captured_link(alice, "https://example.org/c", "C", "text")
    snapshot = link.snapshots.get()
    snapshot.html.save("page.html", ContentFile(HTML), save=True)
    first = _analyse_without_models().inputs[0]
    assert first.terms["headings"] == ["Workers", "Routing tasks"]
    # The HTML is gone: only the stored terms can still give the headings and the word evidence.
    snapshot.html.storage.delete(snapshot.html.name)
    analysis_jobs.queue_reanalysis(Link.objects.filter(pk=link.pk), "other-model", everything=True)
    again = _analyse_without_models().inputs[0]
    assert again.terms == first.terms and again.page == first.page
    assert all((a == b).all() for a, b in zip(again.lexical, first.lexical))


def test_terms_stored_for_an_older_snapshot_are_not_taken_for_a_new_one(alice):
    from django.utils import timezone

    from tagging.analysis import jobs as analysis_jobs

    link = captured_link(alice, "https://example.org/d", "D", "text")
    link.snapshots.get().html.save("page.html", ContentFile(HTML), save=True)
    _analyse_without_models()
    newer = Snapshot.objects.create(link=link, status=Snapshot.Status.DONE, title="D", text="text",
                                    finished_at=timezone.now())
    newer.html.save("page.html", ContentFile(b"<html><body><h1>Brokers</h1></body></html>"), save=True)
    analysis_jobs.queue_analysis(link, newer)  # what the new capture's signal does
    got = _analyse_without_models().inputs[0]
    assert got.terms["headings"] == ["Brokers"]


def test_scoring_takes_the_terms_the_analysis_stored_and_counts_them_only_where_none_are(alice):
    """The scoring's query terms are the ones the person's library holds for the link (its stored
    term vector), not a new count of a text that may have changed since; a row stored without
    terms is counted from its text."""
    from tagging.models import Analysis
    from tagging.scoring.lexical import counts_of_words, unpack_terms
    from tagging.suggestions.service import scoring_inputs

    link = captured_link(alice, "https://example.org/e", "E", "celery workers route tasks to queues")
    _analyse_without_models()
    analysis = Analysis.objects.select_related("link", "snapshot").get(link=link)
    stored = unpack_terms(analysis.term_vector)
    assert stored is not None and len(stored[0]) > 0
    Snapshot.objects.filter(link=link).update(text="postgres vacuum autovacuum tuning")
    analysis = Analysis.objects.select_related("link", "snapshot").get(link=link)
    (_, got), = scoring_inputs([analysis])
    assert (got.lexical[0] == stored[0]).all() and (got.lexical[1] == stored[1]).all()
    assert "vacuum" in got.page.body  # the words of the page as it is now
    Analysis.objects.filter(pk=analysis.pk).update(term_vector=b"")
    (_, counted), = scoring_inputs([Analysis.objects.select_related("link", "snapshot").get(link=link)])
    (vacuum,), _ = counts_of_words(["vacuum"])
    assert vacuum in counted.lexical[0] and vacuum not in stored[0] and vacuum not in got.lexical[0]
