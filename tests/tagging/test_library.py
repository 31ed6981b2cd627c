"""The per-person vector index: built from stored vectors, refreshed when analyses or tags change."""
from __future__ import annotations

import numpy as np
import pytest

from tagging.analysis import jobs as analysis_jobs
from tagging.analysis import library
from tagging.analysis.vectors import pack
from tagging.models import Analysis
from tagging.scoring.lexical import pack_terms, term_counts
from tagging.services import get_or_create_tags
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
    index._combination = ((), "learnt")  # what calibration.combination_for keeps on the library
    analysed_again(links[0], 0)  # 1 of 30 links: under RELEARN_AFTER_SHARE
    updated = library.library_for(alice.pk)  # the new vector taken in place
    assert updated is index and updated._combination == ((), "learnt")
    assert updated.text_matrix[list(updated.link_ids).index(links[0].pk), 0] == pytest.approx(1.0)
    for n in range(1, 4):  # 4 of 30 in all since it was learnt: learnt again
        analysed_again(links[n], n)
    assert not hasattr(library.library_for(alice.pk), "_combination")
    again = library.library_for(alice.pk)
    again._combination = ((), "learnt")
    links[5].tags.add(*get_or_create_tags(alice, ["other"]))
    assert not hasattr(library.library_for(alice.pk), "_combination")
