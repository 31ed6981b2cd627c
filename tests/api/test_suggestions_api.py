"""REST API of tag suggestions: link JSON, accept, reject, the pending list, isolation, schema."""
from __future__ import annotations

import pytest
from django.utils import timezone

from snapshots.models import Link
from tagging.models import Analysis, TagSuggestion
from tagging.services import get_or_create_tags
from tests.api.conftest import token_client

P = TagSuggestion.State


@pytest.fixture
def suggested(alice):
    """A link with an analysis and three pending suggestions (one a new name), as the worker leaves it."""
    link = Link.objects.create(user=alice, url="https://example.org/django-queries", title="Making queries")
    django, database = get_or_create_tags(alice, ["django", "database"])
    Analysis.objects.create(link=link, user=alice, status=Analysis.Status.DONE, model_version="image-1+text-2",
                            finished_at=timezone.now())
    TagSuggestion.objects.create(link=link, user=alice, tag=database, name="database", score=0.61,
                                 reasons=["1 similar link is tagged database"])
    TagSuggestion.objects.create(link=link, user=alice, tag=django, name="django", score=0.93,
                                 reasons=["3 similar links are tagged django", "title mentions 'django'"])
    TagSuggestion.objects.create(link=link, user=alice, name="querysets", score=0.25, reasons=["title mentions it"])
    return link


def test_link_json_carries_analysis_and_sorted_suggestions(alice_api, suggested):
    body = alice_api.get(f"/api/links/{suggested.pk}/").json()
    assert body["analysis"]["status"] == "done" and body["analysis"]["model"] == "image-1+text-2"
    assert set(body["analysis"]) == {"status", "error", "model", "finished_at"}
    assert [(s["tag"], s["score"], s["existing"]) for s in body["suggestions"]] == [
        ("django", 0.93, True), ("database", 0.61, True), ("querysets", 0.25, False)]
    assert body["suggestions"][0]["reasons"] == ["3 similar links are tagged django", "title mentions 'django'"]
    listed = alice_api.get("/api/links/").json()["results"][0]
    assert [s["tag"] for s in listed["suggestions"]] == ["django", "database", "querysets"]


def test_a_link_without_analysis_says_null(alice_api, alice):
    link = Link.objects.create(user=alice, url="https://example.org/new")
    body = alice_api.get(f"/api/links/{link.pk}/").json()
    assert body["analysis"] is None and body["suggestions"] == []


def test_accept_applies_tags_and_a_new_name_becomes_a_tag(alice_api, suggested):
    answer = alice_api.post(f"/api/links/{suggested.pk}/suggestions/accept/", {"tags": ["Django", "querysets"]},
                            format="json")
    assert answer.status_code == 200
    assert answer.json()["tags"] == ["django", "querysets"]
    assert [s["tag"] for s in answer.json()["suggestions"]] == ["database"]
    assert set(suggested.tags.values_list("name", flat=True)) == {"django", "querysets"}
    assert TagSuggestion.objects.get(link=suggested, name="querysets").tag.user == suggested.user


def test_reject_is_remembered(alice_api, suggested):
    answer = alice_api.post(f"/api/links/{suggested.pk}/suggestions/reject/", {"tags": ["database"]}, format="json")
    assert answer.status_code == 200 and [s["tag"] for s in answer.json()["suggestions"]] == ["django", "querysets"]
    assert TagSuggestion.objects.get(link=suggested, name="database").state == P.REJECTED
    assert not suggested.tags.exists()


@pytest.mark.parametrize("body,message", [
    ({"tags": ["flask"]}, "Not suggested for this link: 'flask'."),
    ({"tags": []}, "Ensure this field has at least 1 elements."),
    ({"tags": ["a,b"]}, "contains a comma"),
    ({}, "This field is required."),
])
def test_bad_decisions_are_400_naming_tags(alice_api, suggested, body, message):
    answer = alice_api.post(f"/api/links/{suggested.pk}/suggestions/accept/", body, format="json")
    assert answer.status_code == 400 and message in str(answer.json()["tags"])
    assert not suggested.tags.exists()


def test_other_peoples_suggestions_are_404(bob, suggested):
    bob_api = token_client(bob)
    for verb in ("accept", "reject"):
        answer = bob_api.post(f"/api/links/{suggested.pk}/suggestions/{verb}/", {"tags": ["django"]}, format="json")
        assert answer.status_code == 404
    assert bob_api.get("/api/suggestions/").json()["results"] == []
    assert TagSuggestion.objects.filter(state=P.PENDING).count() == 3


def test_pending_list_filters_by_tag_and_score(alice_api, suggested):
    everything = alice_api.get("/api/suggestions/").json()
    assert [(s["tag"], s["link"]) for s in everything["results"]] == [
        ("django", suggested.pk), ("database", suggested.pk), ("querysets", suggested.pk)]
    assert everything["results"][0]["link_title"] == "Making queries"
    assert [s["tag"] for s in alice_api.get("/api/suggestions/?min_score=0.5").json()["results"]] == ["django", "database"]
    assert [s["tag"] for s in alice_api.get("/api/suggestions/?tag=DATABASE").json()["results"]] == ["database"]
    bad = alice_api.get("/api/suggestions/?min_score=lots")
    assert bad.status_code == 400 and "between 0 and 1" in str(bad.json()["min_score"])


def test_the_schema_documents_suggestions(alice_api):
    schema = alice_api.get("/api/schema/?format=json").json()
    for path in ("/api/links/{id}/suggestions/accept/", "/api/links/{id}/suggestions/reject/", "/api/suggestions/"):
        assert path in schema["paths"]
    link = schema["components"]["schemas"]["Link"]["properties"]
    assert {"analysis", "suggestions"} <= set(link)
