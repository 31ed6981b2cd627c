"""Suggestions written for many links at once (tagging/suggestions/storage.py): planned from what was
read before the transaction, written by fenced statements, so that a decision the person makes in
between is never overwritten and a tag is applied only where the write accepted it."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from snapshots.models import Link
from tagging.models import Analysis, TagSuggestion
from tagging.scoring.score import Scored
from tagging.services import get_or_create_tags
from tagging.suggestions import service, storage

P = TagSuggestion.State


@pytest.fixture
def links(alice):
    return [Link.objects.create(user=alice, url=f"https://example.org/{n}", title=f"Page {n}") for n in range(3)]


def names(link, state=P.PENDING) -> dict[str, float]:
    return dict(TagSuggestion.objects.filter(link=link, state=state).values_list("name", "score"))


def test_pending_suggestions_are_replaced_and_decided_ones_kept(alice, links):
    python, rust = get_or_create_tags(alice, ["python", "rust"])
    service.store_many(alice.pk, {links[0].pk: [Scored(python.pk, "python", 0.8, ["a"]), Scored(None, "web", 0.5, [])],
                                  links[1].pk: [Scored(rust.pk, "rust", 0.7, [])]})
    TagSuggestion.objects.filter(link=links[1], name="rust").update(state=P.REJECTED)
    service.store_many(alice.pk, {links[0].pk: [Scored(python.pk, "python", 0.9, ["b"])],
                                  links[1].pk: [Scored(rust.pk, "rust", 0.95, [])],
                                  links[2].pk: [Scored(None, "new-name", 0.4, ["c"])]})
    assert names(links[0]) == {"python": 0.9}  # changed in place; "web" no longer chosen
    assert TagSuggestion.objects.get(link=links[0], name="python").reasons == ["b"]
    assert names(links[1]) == {} and names(links[1], P.REJECTED) == {"rust": 0.7}  # never back
    assert names(links[2]) == {"new-name": 0.4}
    assert TagSuggestion.objects.get(link=links[2]).tag_id is None and TagSuggestion.objects.get(
        link=links[2]).user_id == alice.pk


def test_a_decision_made_after_the_plan_was_read_stands(alice, links):
    python, rust, go = get_or_create_tags(alice, ["python", "rust", "go"])
    service.store_many(alice.pk, {links[0].pk: [Scored(python.pk, "python", 0.6, []), Scored(rust.pk, "rust", 0.5, [])]})
    planned = storage.plan(alice.pk, {links[0].pk: [Scored(python.pk, "python", 0.9, []),
                                                    Scored(go.pk, "go", 0.95, [])]}, auto_apply_above=0.9)
    assert planned.stale and planned.changed and planned.created  # rust dropped, python changed, go new
    # Meanwhile the person accepts python, rejects rust, and another writer stores go.
    TagSuggestion.objects.filter(link=links[0], name="python").update(state=P.ACCEPTED)
    TagSuggestion.objects.filter(link=links[0], name="rust").update(state=P.REJECTED)
    TagSuggestion.objects.create(link=links[0], user=alice, tag=go, name="Go", score=0.3, state=P.REJECTED)
    storage.write(alice.pk, planned)
    rows = {s.name: (s.state, s.score) for s in TagSuggestion.objects.filter(link=links[0])}
    assert rows == {"python": (P.ACCEPTED, 0.6), "rust": (P.REJECTED, 0.5), "Go": (P.REJECTED, 0.3)}
    # Neither tag is applied: the write accepted none of them (go was decided by someone else).
    assert list(links[0].tags.all()) == []


def test_auto_apply_applies_the_tags_the_write_accepted(alice, links):
    python, rust = get_or_create_tags(alice, ["python", "rust"])
    service.store_many(alice.pk, {links[0].pk: [Scored(python.pk, "python", 0.5, [])]})
    service.store_many(alice.pk, {links[0].pk: [Scored(python.pk, "python", 0.95, [])],
                                  links[1].pk: [Scored(rust.pk, "rust", 0.92, []), Scored(None, "web", 0.99, [])]},
                       auto_apply_above=0.9)
    assert [t.name for t in links[0].tags.all()] == ["python"]  # an existing pending one, accepted
    assert [t.name for t in links[1].tags.all()] == ["rust"]  # a new one; "web" is no tag yet
    assert names(links[1], P.ACCEPTED) == {"rust": 0.92} and names(links[1]) == {"web": 0.99}


def test_the_write_is_a_fixed_number_of_statements_and_clears_the_due_marks(alice, links):
    from tests.tagging.test_library import analysed

    tag, = get_or_create_tags(alice, ["python"])
    chosen = {link.pk: [Scored(tag.pk, "python", 0.5 + n / 10, []), Scored(None, f"name-{n}", 0.3, [])]
              for n, link in enumerate(links)}
    service.store_many(alice.pk, chosen)
    more = {**chosen, **{link.pk: [Scored(tag.pk, "python", 0.8, [])] for link in links[:2]}}
    due = [analysed(alice, 10 + n).analysis.pk for n in range(2)]
    Analysis.objects.filter(pk__in=due).update(suggestions_due=True)
    with CaptureQueriesContext(connection) as queries:
        service.store_many(alice.pk, more, due=due)
    statements = [re.sub(r"^\d+ times: ", "", q["sql"]) for q in queries.captured_queries]  # executemany's as one
    writes = [sql for sql in statements if sql.split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    # One delete (2 names dropped), one update (2 scores moved) and one clearing of the marks,
    # each once whatever the number of rows; nothing new to insert.
    assert len(writes) == 3, writes
    assert not Analysis.objects.filter(pk__in=due, suggestions_due=True).exists()
    assert names(links[0]) == {"python": 0.8} and names(links[2]) == {"python": 0.7, "name-2": 0.3}
