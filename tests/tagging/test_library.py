"""The per-person vector index: built from stored vectors, refreshed when analyses or tags change."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from snapshots.models import Link
from tagging import memberships
from tagging.analysis import jobs as analysis_jobs
from tagging.analysis import library
from tagging.analysis.vectors import pack, unpack, unpack_many
from tagging.models import Analysis
from tagging.scoring.lexical import pack_terms, term_counts
from tagging.scoring.score import Scored
from tagging.services import get_or_create_tags
from tagging.suggestions import service as suggestions
from tests.tagging.helpers import captured_link


@pytest.fixture(autouse=True)
def fresh_index():
    library.forget()
    yield
    library.forget()


def analysed(user, n: int, tags=("topic",)):
    """A link whose analysis is done with a known text vector (as the worker stores it)."""
    link = captured_link(user, f"https://example.org/{n}", f"Page {n}", "text", tags=list(tags))
    _, (row,) = analysis_jobs.claim_batch(1)
    vector = np.zeros(384, np.float32)
    vector[n] = 1.0
    analysis_jobs.finish(row, row.claim, text_vector=pack(vector))
    return link


def test_new_analyses_join_and_deleted_links_leave(alice):
    first = analysed(alice, 0)
    assert list(library.library_for(alice.pk).link_ids) == [first.pk]
    second = analysed(alice, 1)
    index = library.library_for(alice.pk)
    assert sorted(index.link_ids) == sorted([first.pk, second.pk])
    assert index.text_matrix.dtype == np.float32 and index.text_matrix.shape == (2, 384)
    first.delete()
    assert list(library.library_for(alice.pk).link_ids) == [second.pk]


def test_a_batch_committed_after_a_later_one_joins_in_place(alice):
    first, second = analysed(alice, 0), analysed(alice, 1)
    index = library.library_for(alice.pk)
    # Another process's batch: its finish time was taken before the latest one the index has seen,
    # its transaction ended after the index read them (reanalyze --jobs).
    late = analysed(alice, 2)
    Analysis.objects.filter(link=late).update(finished_at=Analysis.objects.get(link=second).finished_at
                                              - timedelta(seconds=1))
    again = library.library_for(alice.pk)
    assert again is index  # brought up to date, not built again
    assert sorted(again.link_ids.tolist()) == sorted([first.pk, second.pk, late.pk])
    assert again.text_of(again.row_of()[late.pk])[2] == pytest.approx(1.0)


def test_stored_terms_come_with_the_index_and_follow_new_analyses(alice):
    first = analysed(alice, 0)
    Analysis.objects.filter(link=first).update(term_vector=pack_terms(*term_counts("catalog oid relname")))
    library.forget()
    index = library.library_for(alice.pk)
    assert index.terms[0][0].tolist() == term_counts("catalog oid relname")[0].tolist()
    second = analysed(alice, 1)  # finished without terms (an analysis stored before they existed)
    index = library.library_for(alice.pk)
    by_link = dict(zip(index.link_ids.tolist(), index.terms))
    assert by_link[second.pk] is None and by_link[first.pk] is not None
    assert index.lexical.rows.tolist() == [index.link_ids.tolist().index(first.pk)]


def test_tag_changes_reach_the_index(alice, settings):
    link = analysed(alice, 0, tags=())
    assert library.library_for(alice.pk).text_rows.size == 0  # untagged links cast no vote
    link.tags.add(*get_or_create_tags(alice, ["python"]))
    index = library.library_for(alice.pk)
    assert index.text_rows.size == 1 and index.row_tags == [(link.tags.get().pk,)]
    settings.LINKSHOT_LIST_CACHE_SECONDS = 0  # no shared version: memberships are read every time
    link.tags.clear()
    assert library.library_for(alice.pk).text_rows.size == 0


def test_a_person_sees_only_their_own_links(alice, bob):
    analysed(alice, 0)
    analysed(bob, 1)
    assert len(library.library_for(alice.pk).link_ids) == 1
    assert Analysis.objects.count() == 2


def analysed_again(link, n: int) -> None:
    analysis_jobs.queue_analysis(link, link.snapshots.get())
    _, (row,) = analysis_jobs.claim_batch(1)
    vector = np.zeros(384, np.float32)
    vector[n] = 0.5
    analysis_jobs.finish(row, row.claim, text_vector=pack(vector))


def test_a_learnt_combination_outlives_a_few_new_vectors_but_not_a_tag_change(alice):
    links = [analysed(alice, n) for n in range(30)]
    index = library.library_for(alice.pk)
    index.combination = ((), "learnt")  # what calibration.combination_for keeps on the library
    analysed_again(links[0], 100)  # 1 of 30 links: under RELEARN_AFTER_SHARE
    updated = library.library_for(alice.pk)  # the new vector taken in place
    assert updated is index and updated.combination == ((), "learnt")
    assert updated.text_matrix[list(updated.link_ids).index(links[0].pk), 100] == pytest.approx(1.0)
    analysed_again(links[1], 1)  # the vector it had: nothing changed
    assert library.library_for(alice.pk).combination == ((), "learnt")
    for n in range(1, 4):  # 4 of 30 in all since it was learnt: learnt again
        analysed_again(links[n], n + 100)
    assert library.library_for(alice.pk).combination is None
    again = library.library_for(alice.pk)
    again.combination = ((), "learnt")
    links[5].tags.add(*get_or_create_tags(alice, ["other"]))
    assert library.library_for(alice.pk).combination is None


def membership_reads(queries) -> int:
    return sum("snapshots_link_tags" in q["sql"] for q in queries.captured_queries)


def test_a_reanalysis_reads_no_memberships_and_a_tag_change_reads_them_again(alice):
    links = [analysed(alice, n) for n in range(3)]
    index = library.library_for(alice.pk)
    analysed_again(links[0], 5)  # new vectors: the list cache's version moved, the memberships' did not
    with CaptureQueriesContext(connection) as queries:
        assert library.library_for(alice.pk) is index
    assert membership_reads(queries) == 0
    assert index.text_matrix[index.row_of()[links[0].pk], 5] == pytest.approx(1.0)
    extra, = get_or_create_tags(alice, ["extra"])
    links[1].tags.add(extra)
    with CaptureQueriesContext(connection) as queries:
        index = library.library_for(alice.pk)
    assert membership_reads(queries) == 1 and extra.pk in index.row_tags[index.row_of()[links[1].pk]]
    extra.delete()
    assert extra.pk not in library.library_for(alice.pk).members


def test_links_queued_again_rejoin_with_only_their_own_tags_read(alice):
    """reanalyze --all after the models changed: queued links leave the index (their vectors are of
    the old models) and come back batch by batch, their tags unchanged."""
    links = [analysed(alice, n, tags=("topic", f"tag{n}")) for n in range(4)]
    analysis_jobs.queue_reanalysis(Link.objects.filter(pk__in=[links[1].pk, links[2].pk]), "new-models", True)
    assert Analysis.objects.filter(finished_at__isnull=True).count() == 2
    index = library.library_for(alice.pk)
    assert sorted(index.link_ids) == sorted([links[0].pk, links[3].pk])
    _, rows = analysis_jobs.claim_batch(10)
    analysis_jobs.finish_batch(rows, rows[0].claim, [])
    with CaptureQueriesContext(connection) as queries:
        assert library.library_for(alice.pk) is index
    assert membership_reads(queries) == 1 and '"link_id" IN' in queries.captured_queries[-1]["sql"]
    for link in links:
        assert sorted(index.row_tags[index.row_of()[link.pk]]) == sorted(link.tags.values_list("pk", flat=True))
    assert sorted(index.link_ids[index.text_rows]) == sorted(link.pk for link in links)
    library.forget(alice.pk)
    rebuilt = library.library_for(alice.pk)
    assert sorted(zip(rebuilt.link_ids.tolist(), rebuilt.row_tags)) == sorted(zip(index.link_ids.tolist(),
                                                                                    index.row_tags))


def test_links_queued_again_for_the_same_models_stay_and_take_their_new_vectors_in_place(alice):
    """reanalyze --all with the models that made the vectors: every batch scores against the whole
    library, so what a link is suggested does not depend on the order the links are redone in."""
    links = [analysed(alice, n) for n in range(4)]
    version = Analysis.objects.get(link=links[0]).model_version
    index = library.library_for(alice.pk)
    analysis_jobs.queue_reanalysis(Link.objects.filter(user=alice), version, True)
    assert not Analysis.objects.filter(finished_at__isnull=True).exists()  # their vectors still stand
    assert library.library_for(alice.pk) is index and sorted(index.link_ids) == sorted(link.pk for link in links)
    for n, link in enumerate(links):  # one batch at a time, as several processes would take them
        _, (row,) = analysis_jobs.claim_batch(1)
        vector = np.zeros(384, np.float32)
        vector[100 + n] = 1.0
        analysis_jobs.finish(row, row.claim, text_vector=pack(vector))
        assert library.library_for(alice.pk) is index
    for n, link in enumerate(links):
        assert index.text_matrix[index.row_of()[link.pk], 100 + n] == pytest.approx(1.0)
    analysis_jobs.queue_reanalysis(Link.objects.filter(pk=links[0].pk), version, True)
    _, (row,) = analysis_jobs.claim_batch(1)
    analysis_jobs.fail(row, row.claim, "the screenshot could not be read")  # tried again later
    assert Analysis.objects.get(pk=row.pk).status == "pending"
    assert library.library_for(alice.pk) is index and links[0].pk in index.row_of()  # its vectors still stand


def test_new_vectors_committed_after_a_later_batch_are_read(alice):
    """Two processes redo two links; the one that finished first commits last (reanalyze --jobs)."""
    links = [analysed(alice, n) for n in range(3)]
    version = Analysis.objects.get(link=links[0]).model_version
    analysis_jobs.queue_reanalysis(Link.objects.filter(pk__in=[links[0].pk, links[1].pk]), version, True)
    index = library.library_for(alice.pk)
    _, (first,) = analysis_jobs.claim_batch(1)
    _, (second,) = analysis_jobs.claim_batch(1)
    vector = np.zeros(384, np.float32)
    vector[200] = 1.0
    analysis_jobs.finish(second, second.claim, text_vector=pack(vector))
    assert library.library_for(alice.pk) is index
    vector = np.zeros(384, np.float32)
    vector[201] = 1.0
    analysis_jobs.finish(first, first.claim, text_vector=pack(vector))
    second_done = Analysis.objects.get(pk=second.pk).finished_at
    Analysis.objects.filter(pk=first.pk).update(finished_at=second_done - timedelta(microseconds=1))
    assert library.library_for(alice.pk) is index
    assert index.text_matrix[index.row_of()[second.link_id], 200] == pytest.approx(1.0)
    assert index.text_matrix[index.row_of()[first.link_id], 201] == pytest.approx(1.0)


def test_tags_applied_by_the_suggestions_reach_the_index(alice):
    link = analysed(alice, 0, tags=())
    assert library.library_for(alice.pk).text_rows.size == 0
    tag, = get_or_create_tags(alice, ["python"])
    suggestions.store_many(alice.pk, {link.pk: [Scored(tag.pk, "python", 0.95, [])]}, auto_apply_above=0.9)
    assert library.library_for(alice.pk).row_tags == [(tag.pk,)]


def test_without_a_shared_cache_a_summary_of_the_memberships_stands_for_them(alice, settings):
    """No shared cache: each use reads one aggregate of the memberships, and the pairs only when it moved."""
    settings.LINKSHOT_LIST_CACHE_SECONDS = 0
    links = [analysed(alice, n) for n in range(3)]
    index = library.library_for(alice.pk)
    analysed_again(links[0], 5)
    with CaptureQueriesContext(connection) as queries:
        assert library.library_for(alice.pk) is index
    reads = [q["sql"] for q in queries.captured_queries if "snapshots_link_tags" in q["sql"]]
    assert len(reads) == 1 and "COUNT(" in reads[0].upper()
    extra, = get_or_create_tags(alice, ["extra"])
    links[1].tags.add(extra)
    assert extra.pk in library.library_for(alice.pk).row_tags[index.row_of()[links[1].pk]]
    # One membership moved to another link: as many rows as before, other ones.
    links[1].tags.remove(extra)
    links[2].tags.add(extra)
    moved = library.library_for(alice.pk)
    assert extra.pk not in moved.row_tags[moved.row_of()[links[1].pk]]
    assert extra.pk in moved.row_tags[moved.row_of()[links[2].pk]]


def test_the_summary_moves_when_the_newest_membership_is_replaced(alice):
    topic, other = get_or_create_tags(alice, ["topic", "other"])
    link = captured_link(alice, "https://example.org/a", "A", "text", tags=["topic"])
    before = memberships.stored_summary(alice.pk)
    link.tags.remove(topic)
    link.tags.add(other)
    assert memberships.stored_summary(alice.pk) != before
    link.tags.remove(other)
    link.tags.add(topic)  # the same pair as at first, in a new row
    assert memberships.stored_summary(alice.pk) != before


def test_stored_vectors_read_together_equal_each_read_alone():
    """The library reads its rows' vectors as one matrix; a missing or damaged blob is a row of zeros
    there, as it is None read alone, in a batch of good ones or alone."""
    rng = np.random.default_rng(3)
    good = [pack(rng.standard_normal(8)) for _ in range(4)]
    for blobs in (good, [good[0], b"", None, good[1][:-2], memoryview(good[2])]):
        together = unpack_many(blobs, 8)
        assert together.shape == (len(blobs), 8) and together.dtype == np.float32
        for row, blob in zip(together, blobs):
            alone = unpack(blob, 8)
            assert np.array_equal(row, np.zeros(8) if alone is None else alone)
    assert unpack_many([], 8).shape == (0, 8)


def test_a_drain_reads_what_others_finished_while_its_models_run(alice):
    """run.drain brings the batch's library up to date before the models answer: scoring then
    reads only the batch's own rows."""
    from tagging.analysis import run

    links = [analysed(alice, n) for n in range(3)]
    index = library.library_for(alice.pk)
    analysed_again(links[0], 100)  # another process's batch
    waiting = Analysis.objects.get(link=links[1])
    with CaptureQueriesContext(connection) as queries:
        run._bring_up_to_date(run.Claimed("token", [waiting], []))
    assert any("text_vector" in q["sql"] for q in queries.captured_queries)
    assert index.text_matrix[index.row_of()[links[0].pk], 100] == pytest.approx(1.0)
    with CaptureQueriesContext(connection) as queries:
        assert library.library_for(alice.pk) is index
    assert not any("text_vector" in q["sql"] for q in queries.captured_queries)  # nothing left to read


def test_a_library_saved_by_one_process_is_adopted_by_another_and_kept_up_to_date(alice, bob, tmp_path):
    """reanalyze --jobs N: the parent builds the library once, each process adopts it instead of
    reading every row, then brings it up to date from its stamp as if it had built it."""
    links = [analysed(alice, n) for n in range(3)]
    path = tmp_path / "libraries.pickle"
    assert library.save([alice.pk], path) == [alice.pk]
    built = library.library_for(alice.pk)
    library.forget()  # another process: nothing held
    assert library.adopt(tmp_path / "missing.pickle") == []
    assert library.adopt(path) == [alice.pk]
    with CaptureQueriesContext(connection) as queries:
        adopted = library.library_for(alice.pk)
    assert not any("text_vector" in q["sql"] for q in queries.captured_queries)  # no row read again
    assert adopted is not built and adopted.link_ids.tolist() == built.link_ids.tolist()
    assert np.array_equal(adopted.text_matrix, built.text_matrix) and adopted.row_tags == built.row_tags
    analysed_again(links[1], 200)  # finished after the library was saved
    newer = analysed(alice, 3)
    again = library.library_for(alice.pk)
    assert again is adopted  # brought up to date in place, not built again
    assert again.text_matrix[again.row_of()[links[1].pk], 200] == pytest.approx(1.0)
    assert newer.pk in again.row_of()
    assert library.adopt(path) == []  # a library this process holds is its own, not replaced
    assert library.library_for(alice.pk) is again
    assert library.library_for(bob.pk).size == 0  # only what was saved was adopted


def test_reanalyze_builds_the_pending_peoples_libraries_once_for_its_processes(alice, bob, tmp_path):
    from tagging.analysis import drain_processes

    for n in range(2):
        analysed(alice, n)
    analysed(bob, 5)
    version = Analysis.objects.filter(user=alice).values_list("model_version", flat=True).first()
    analysis_jobs.queue_reanalysis(Link.objects.filter(user=alice), version, True)  # the same models: kept
    shared = drain_processes.DrainProcesses.__new__(drain_processes.DrainProcesses)  # no processes started
    shared.folder = tmp_path
    shared.people = shared._people(None)
    shared._read_libraries()  # while the processes load their models and store vectors
    shared._write_libraries()  # once they have drained the queue
    library.forget()
    assert library.adopt(tmp_path / drain_processes.LIBRARIES) == [alice.pk]  # only the pending people's
    assert sorted(library.library_for(alice.pk).link_ids.tolist()) == sorted(
        Link.objects.filter(user=alice).values_list("pk", flat=True))
