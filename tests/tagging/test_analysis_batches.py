"""The database side of a batch (real models, real database): a fixed number of queries whatever
the batch size, nothing done twice on redelivery, a lost claim never overwritten, and the
models embedding the next batch while one is written."""
from __future__ import annotations

import threading

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tagging.analysis import run as analyze
from tagging.analysis.predictor import predictor
from tagging.models import Analysis, TagSuggestion
from tagging.services import get_or_create_tags
from tagging.suggestions import service as suggestions
from tests.tagging.helpers import captured_link, screenshot_png

A = Analysis.Status
TEXT = "Django's ORM builds database queries; git rebase replays commits on another branch. "


def links(user, first: int, count: int, screenshot: bool = False) -> list:
    topics = ["django", "git", "database"]
    return [captured_link(user, f"https://docs.example.org/{topics[n % 3]}/{n}", f"{topics[n % 3].title()} part {n}",
                          TEXT * 2, tags=[topics[n % 3]] if n % 2 else [],
                          screenshot=screenshot_png() if screenshot else None)
            for n in range(first, first + count)]


def write_queries(batch: int, user_id: int) -> int:
    """Queries of writing one claimed, embedded batch (the model call itself not counted)."""
    claimed = analyze.claim(batch, user_id)
    assert len(claimed.analyses) == batch
    embedded = analyze.embed(claimed, predictor())
    with CaptureQueriesContext(connection) as queries:
        assert len(analyze.write(claimed, embedded)) == batch
    return len(queries)


def test_writing_a_batch_takes_the_same_queries_whatever_its_size(alice, django_assert_max_num_queries, settings):
    settings.LINKSHOT_SUGGESTION_LEARN = False
    suggestions.set_auto_apply(alice, 0.9)  # the applied tags are part of the writes counted
    get_or_create_tags(alice, ["django", "git", "database", "cooking"])
    links(alice, 0, 2)
    small = write_queries(2, alice.pk)
    links(alice, 100, 24)
    claimed = analyze.claim(24, alice.pk)
    embedded = analyze.embed(claimed, predictor())
    with django_assert_max_num_queries(small):
        analyze.write(claimed, embedded)
    made = TagSuggestion.objects.filter(link_id__in=[a.link_id for a in claimed.analyses])
    assert made.filter(state="pending").exists() and made.filter(state="accepted").exists()
    assert all(made.filter(link_id=a.link_id, state="pending").count() <= 5 for a in claimed.analyses)
    assert set(Analysis.objects.values_list("status", flat=True)) == {A.DONE}


def test_a_redelivered_batch_writes_nothing(alice):
    get_or_create_tags(alice, ["django", "git"])
    links(alice, 0, 4)
    claimed = analyze.claim(10, alice.pk)
    embedded = analyze.embed(claimed, predictor())
    assert len(analyze.write(claimed, embedded)) == 4
    before = list(TagSuggestion.objects.order_by("pk").values_list("pk", "score", "updated_at"))
    finished = dict(Analysis.objects.values_list("pk", "finished_at"))
    assert before
    assert analyze.write(claimed, embedded) == []  # the same batch again: its claim is spent
    assert list(TagSuggestion.objects.order_by("pk").values_list("pk", "score", "updated_at")) == before
    assert dict(Analysis.objects.values_list("pk", "finished_at")) == finished
    assert analyze.claim(10, alice.pk) is None


def test_a_row_whose_claim_was_taken_over_is_not_overwritten(alice):
    get_or_create_tags(alice, ["django", "git"])
    links(alice, 0, 3)
    claimed = analyze.claim(10, alice.pk)
    embedded = analyze.embed(claimed, predictor())
    lost = claimed.analyses[1]
    Analysis.objects.filter(pk=lost.pk).update(claim="another-worker")  # reset_stuck and a new claim
    written = analyze.write(claimed, embedded)
    assert sorted(a.pk for a, _ in written) == sorted(a.pk for a in claimed.analyses if a.pk != lost.pk)
    row = Analysis.objects.get(pk=lost.pk)
    assert (row.status, row.claim, bytes(row.text_vector)) == (A.RUNNING, "another-worker", b"")
    assert not TagSuggestion.objects.filter(link_id=lost.link_id).exists()
    assert all(len(a.text_vector) == 768 for a in Analysis.objects.exclude(pk=lost.pk))


def test_drain_embeds_the_next_batch_while_one_is_written(alice, monkeypatch):
    get_or_create_tags(alice, ["django", "git"])
    links(alice, 0, 5, screenshot=True)
    events, claim, embed, write = [], analyze.claim, analyze.embed, analyze.write
    main = threading.main_thread()

    def recorded_claim(limit, user_id, **scoring):  # the real functions, noting the order and the thread
        got = claim(limit, user_id, **scoring)
        events.append(("claim", len(got.analyses) if got else 0))
        return got

    def recorded_embed(claimed, model):
        events.append(("embed in main thread", threading.current_thread() is main))
        return embed(claimed, model)

    def recorded_write(claimed, embedded, *times):
        events.append(("write", len(claimed.analyses)))
        assert threading.current_thread() is main  # only this thread touches the database
        return write(claimed, embedded, *times)

    monkeypatch.setattr(analyze, "claim", recorded_claim)
    monkeypatch.setattr(analyze, "embed", recorded_embed)
    monkeypatch.setattr(analyze, "write", recorded_write)
    assert list(analyze.drain(limit=2, user_id=alice.pk)) == [2, 2, 1]
    assert ("embed in main thread", True) not in events and events.count(("embed in main thread", False)) == 3
    # Each batch is claimed and handed to the models before the one before it is written.
    order = [e for e in events if e[0] != "embed in main thread"]
    assert order == [("claim", 2), ("claim", 2), ("write", 2), ("claim", 1), ("write", 2), ("claim", 0), ("write", 1),
                     ("claim", 0)]
    assert set(Analysis.objects.values_list("status", flat=True)) == {A.DONE}
    assert all("image" in a.inputs for a in Analysis.objects.all())


def test_a_batch_the_models_cannot_run_is_retried_then_failed(alice, settings):
    settings.LINKSHOT_INFERENCE_BACKEND = "gpu"  # no such backend: every embedding call fails
    links(alice, 0, 2)
    assert list(analyze.drain(limit=10, user_id=alice.pk)) == [2] * settings.LINKSHOT_ANALYSIS_MAX_ATTEMPTS
    rows = list(Analysis.objects.all())
    assert {(a.status, a.attempts) for a in rows} == {(A.FAILED, settings.LINKSHOT_ANALYSIS_MAX_ATTEMPTS)}
    assert all(a.error.startswith("The tag models could not run") for a in rows)
    assert not TagSuggestion.objects.exists()
