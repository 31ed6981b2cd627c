"""Analyses with the real models (onnxruntime on CPU, small inputs): vectors stored, suggestions made."""
from __future__ import annotations

import pytest

from snapshots.models import Link, Snapshot
from tagging.analysis import jobs as analysis_jobs
from tagging.analysis import run as analyze
from tagging.models import Analysis, TagSuggestion
from tagging.scoring.lexical import term_counts, unpack_terms
from tagging.scoring.words import url_words
from tagging.services import create_tag, get_or_create_tags
from tagging.suggestions import service as suggestions
from tests.tagging.helpers import captured_link, screenshot_png

A = Analysis.Status
DJANGO_TEXT = ("Django's ORM lets you build database queries with QuerySet methods such as filter, exclude "
               "and annotate; models map to tables and migrations change the schema. ")
GIT_TEXT = "git rebase replays commits on top of another branch; git merge joins two histories. "


def library_of(user):
    """Two topics, three tagged links each."""
    for n in range(3):
        captured_link(user, f"https://docs.example.org/django/{n}", f"Django models part {n}", DJANGO_TEXT * 3,
                      tags=["django", "database"], screenshot=screenshot_png(stripe=(12, 75, 51)))
        captured_link(user, f"https://docs.example.org/git/{n}", f"Git branching part {n}", GIT_TEXT * 3,
                      tags=["git"], screenshot=screenshot_png(stripe=(240, 80, 50)))
    analyze.run_batch()


def test_a_batch_stores_vectors_once_per_input(alice):
    good = captured_link(alice, "https://example.org/page", "A page", DJANGO_TEXT, screenshot=screenshot_png())
    corrupt = captured_link(alice, "https://example.org/corrupt", "Corrupt shot", DJANGO_TEXT,
                            screenshot=b"\x89PNG\r\n\x1a\n not really a png")
    no_text = captured_link(alice, "https://example.org/gallery/sunset", "", "", screenshot=screenshot_png())
    failed = Link.objects.create(user=alice, url="https://example.org/unreachable/postgres-tuning",
                                 title="Postgres tuning notes", description="Settings that matter")
    analysis_jobs.queue_analysis(failed, Snapshot.objects.create(link=failed, status=Snapshot.Status.FAILED))

    assert analyze.run_batch() == 4

    rows = {a.link_id: a for a in Analysis.objects.all()}
    assert {a.status for a in rows.values()} == {A.DONE}
    assert rows[good.pk].inputs == ["url", "text", "image"]
    assert len(rows[good.pk].text_vector) == 384 * 2 and len(rows[good.pk].image_feature) == 1280 * 2
    assert len(rows[good.pk].image_descriptor) == 1280 * 2
    assert rows[good.pk].concepts[0][0] and 0 < rows[good.pk].concepts[0][1] <= 1
    assert rows[good.pk].model_version.startswith("image-") and "+text-" in rows[good.pk].model_version
    assert rows[corrupt.pk].inputs == ["url", "text"] and bytes(rows[corrupt.pk].image_feature) == b""
    assert rows[no_text.pk].inputs == ["url", "image"] and len(rows[no_text.pk].text_vector) == 768
    assert rows[failed.pk].inputs == ["url"] and len(rows[failed.pk].text_vector) == 768
    # The page's top terms for the word evidence: ids then counts, 6 bytes a term.
    ids, counts = unpack_terms(rows[good.pk].term_vector)
    assert ids.tolist() == term_counts("A page", "", url_words(good.url), DJANGO_TEXT)[0].tolist()
    assert counts.max() >= 1 and len(ids) > 10
    assert unpack_terms(rows[failed.pk].term_vector)[0].tolist() == term_counts(
        "Postgres tuning notes", "Settings that matter", url_words(failed.url))[0].tolist()
    assert analyze.run_batch() == 0  # a redelivered drain finds nothing to do


def test_new_links_get_the_tags_of_similar_links_with_reasons(alice):
    library_of(alice)
    new = captured_link(alice, "https://docs.example.org/django/queries", "Making queries",
                        DJANGO_TEXT * 2, screenshot=screenshot_png(stripe=(12, 75, 51)))
    analyze.run_batch()
    pending = suggestions.pending_of(new)
    assert [s.name for s in pending][:2] in (["django", "database"], ["database", "django"])
    assert "git" not in [s.name for s in pending[:2]]
    assert pending[0].score > 0.5 and all(0 <= s.score <= 1 for s in pending)
    assert any("similar links are tagged" in r for r in pending[0].reasons)
    assert any(r.startswith("uses the words of 3 pages tagged") for r in pending[0].reasons)  # stored terms
    assert len(pending) <= 5 and [s.score for s in pending] == sorted((s.score for s in pending), reverse=True)


def test_rejected_stays_rejected_and_accepted_becomes_an_example(alice):
    library_of(alice)
    new = captured_link(alice, "https://docs.example.org/django/forms", "Django forms", DJANGO_TEXT,
                        screenshot=screenshot_png(stripe=(12, 75, 51)))
    analyze.run_batch()
    suggestions.reject(new, ["database"])
    suggestions.accept(new, ["Django"])
    assert list(new.tags.values_list("name", flat=True)) == ["django"]
    suggestions.rescore_user(alice.pk)
    assert "database" not in [s.name for s in suggestions.pending_of(new)]
    assert TagSuggestion.objects.get(link=new, name="database").state == TagSuggestion.State.REJECTED
    with pytest.raises(Exception, match="Not suggested for this link: 'flask'"):
        suggestions.accept(new, ["flask"])


def test_a_vocabulary_change_rescores_from_stored_vectors(alice, monkeypatch):
    link = captured_link(alice, "https://blog.example.org/kubernetes/operators", "Kubernetes operators",
                         "Kubernetes operators extend the cluster. " * 5)
    get_or_create_tags(alice, ["cooking", "gardening"])
    analyze.run_batch()
    before = {s.name for s in suggestions.pending_of(link)}
    assert "Kubernetes" not in before
    calls = []
    monkeypatch.setattr("tagging.analysis.predictor.Predictor.embed_images", lambda *a, **k: calls.append("image"))
    create_tag(alice, "Kubernetes")
    suggestions.rescore_user(alice.pk)
    after = suggestions.pending_of(link)
    assert after[0].name == "Kubernetes" and after[0].existing and "title mentions 'Kubernetes'" in after[0].reasons
    assert calls == []  # nothing recomputed the screenshot's vectors


def test_a_new_name_is_proposed_only_when_no_tag_fits(alice):
    get_or_create_tags(alice, ["cooking", "gardening", "travel"])
    link = captured_link(alice, "https://blog.example.org/kubernetes/operators", "Kubernetes operators explained",
                         "Kubernetes operators extend the cluster. " * 5)
    analyze.run_batch()
    pending = suggestions.pending_of(link)
    assert [(s.name, s.existing) for s in pending if not s.existing] == [("kubernetes", False)]
    suggestions.accept(link, ["kubernetes"])
    assert list(link.tags.values_list("name", flat=True)) == ["kubernetes"]


def test_auto_apply_above_a_threshold(alice):
    suggestions.set_auto_apply(alice, 0.6)
    library_of(alice)
    new = captured_link(alice, "https://docs.example.org/django/more", "Django models", DJANGO_TEXT * 2,
                        screenshot=screenshot_png(stripe=(12, 75, 51)))
    analyze.run_batch()
    assert "django" in set(new.tags.values_list("name", flat=True))
    with pytest.raises(Exception, match="between 0 and 1"):
        suggestions.set_auto_apply(alice, 1.5)


def test_a_missing_screenshot_file_keeps_the_text_path(alice):
    link = captured_link(alice, "https://example.org/x", "Django notes", DJANGO_TEXT, screenshot=screenshot_png())
    snapshot = link.snapshots.get()
    snapshot.screenshot.storage.delete(snapshot.screenshot.name)
    analyze.run_batch()
    analysis = Analysis.objects.get(link=link)
    assert analysis.status == A.DONE and analysis.inputs == ["url", "text"]


def test_other_people_are_no_evidence(alice, bob):
    library_of(bob)
    get_or_create_tags(alice, ["reading"])
    link = captured_link(alice, "https://docs.example.org/django/x", "Notes", DJANGO_TEXT * 2,
                         screenshot=screenshot_png(stripe=(12, 75, 51)))
    analyze.run_batch()
    assert {s.name for s in suggestions.pending_of(link)} <= {"reading"}
    assert not TagSuggestion.objects.filter(link=link, tag__user=bob).exists()


