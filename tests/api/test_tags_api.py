"""Tags over the API: list with counts and ordering, create, rename, delete, merge."""
import pytest

from snapshots.models import Link
from tagging.models import Tag
from tests.factories import make_link


@pytest.fixture
def vocabulary(alice):
    make_link(alice, "https://example.com/1", tags=["python", "web"])
    make_link(alice, "https://example.com/2", tags=["python"])
    make_link(alice, "https://example.com/3", tags=["python", "Apple"])
    Tag.objects.create(user=alice, name="unused")


def _names(answer) -> list[str]:
    return [tag["name"] for tag in answer.json()["results"]]


def test_list_has_link_counts_ordered_by_name(alice_api, vocabulary):
    answer = alice_api.get("/api/tags/")
    assert answer.status_code == 200
    assert [(tag["name"], tag["link_count"]) for tag in answer.json()["results"]] == [
        ("Apple", 1), ("python", 3), ("unused", 0), ("web", 1)]


@pytest.mark.parametrize("ordering,expected", [
    ("-name", ["web", "unused", "python", "Apple"]),
    ("-count", ["python", "Apple", "web", "unused"]),
    ("count", ["unused", "Apple", "web", "python"]),
])
def test_list_ordering(alice_api, vocabulary, ordering, expected):
    assert _names(alice_api.get(f"/api/tags/?ordering={ordering}")) == expected


def test_bad_ordering_names_the_parameter(alice_api, vocabulary):
    answer = alice_api.get("/api/tags/?ordering=colour")
    assert answer.status_code == 400 and "ordering" in answer.json()


def test_list_filters_by_name_part(alice_api, vocabulary):
    assert _names(alice_api.get("/api/tags/?q=PY")) == ["python"]


def test_create_tag(alice_api, alice):
    answer = alice_api.post("/api/tags/", {"name": "  Machine   learning "}, format="json")
    assert answer.status_code == 201
    assert answer.json()["name"] == "Machine learning" and answer.json()["link_count"] == 0
    assert Tag.objects.get(pk=answer.json()["id"]).user == alice


def test_create_existing_name_in_other_case_names_name(alice_api, vocabulary):
    answer = alice_api.post("/api/tags/", {"name": "PYTHON"}, format="json")
    assert answer.status_code == 400 and "name" in answer.json()
    assert Tag.objects.filter(name__iexact="python").count() == 1


@pytest.mark.parametrize("name", ["a,b", "x" * 65, "", "   ", 5, None, ["list"]])
def test_bad_tag_names_are_refused(alice_api, vocabulary, name):
    created = alice_api.post("/api/tags/", {"name": name}, format="json")
    assert created.status_code == 400 and "name" in created.json()
    web = Tag.objects.get(name="web")
    renamed = alice_api.patch(f"/api/tags/{web.pk}/", {"name": name}, format="json")
    assert renamed.status_code == 400 and "name" in renamed.json()
    assert Tag.objects.get(pk=web.pk).name == "web"
    assert Tag.objects.count() == 4


def test_rename_keeps_links(alice_api, vocabulary):
    web = Tag.objects.get(name="web")
    answer = alice_api.patch(f"/api/tags/{web.pk}/", {"name": "Web dev"}, format="json")
    assert answer.status_code == 200
    assert answer.json() | {"created_at": None, "date_added": None} == {"id": web.pk, "name": "Web dev", "link_count": 1,
                                                                    "created_at": None, "date_added": None}
    assert list(Link.objects.filter(tags__name="Web dev").values_list("url", flat=True)) == ["https://example.com/1"]


def test_rename_to_own_name_in_new_case_is_allowed(alice_api, vocabulary):
    web = Tag.objects.get(name="web")
    assert alice_api.patch(f"/api/tags/{web.pk}/", {"name": "WEB"}, format="json").json()["name"] == "WEB"


def test_rename_clash_names_name_and_changes_nothing(alice_api, vocabulary):
    web = Tag.objects.get(name="web")
    answer = alice_api.patch(f"/api/tags/{web.pk}/", {"name": "Python"}, format="json")
    assert answer.status_code == 400
    assert "merge" in answer.json()["name"][0]
    assert Tag.objects.get(pk=web.pk).name == "web"


def test_delete_tag_keeps_its_links(alice_api, vocabulary):
    python = Tag.objects.get(name="python")
    assert alice_api.delete(f"/api/tags/{python.pk}/").status_code == 204
    assert not Tag.objects.filter(pk=python.pk).exists()
    assert Link.objects.count() == 3


def test_merge_moves_links_and_deletes_source(alice_api, vocabulary):
    web, python = Tag.objects.get(name="web"), Tag.objects.get(name="python")
    apple = Tag.objects.get(name="Apple")
    answer = alice_api.post(f"/api/tags/{apple.pk}/merge/", {"into": web.pk}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["id"], answer.json()["link_count"]) == (web.pk, 2)
    assert not Tag.objects.filter(pk=apple.pk).exists()
    merged = alice_api.post(f"/api/tags/{web.pk}/merge/", {"into": python.pk}, format="json")
    assert merged.json()["link_count"] == 3
    assert all(link.tags.filter(pk=python.pk).exists() for link in Link.objects.all())


@pytest.mark.parametrize("body", [{}, {"into": "abc"}, {"into": None}, {"into": 0}, {"into": [1]}])
def test_merge_needs_a_valid_into(alice_api, vocabulary, body):
    web = Tag.objects.get(name="web")
    answer = alice_api.post(f"/api/tags/{web.pk}/merge/", body, format="json")
    assert answer.status_code == 400 and "into" in answer.json()
    assert Tag.objects.count() == 4


def test_merge_into_itself_is_refused(alice_api, vocabulary):
    web = Tag.objects.get(name="web")
    answer = alice_api.post(f"/api/tags/{web.pk}/merge/", {"into": web.pk}, format="json")
    assert answer.status_code == 400 and "into" in answer.json()
    assert Tag.objects.filter(pk=web.pk).exists()


def test_merge_into_unknown_tag_names_into(alice_api, vocabulary):
    web = Tag.objects.get(name="web")
    answer = alice_api.post(f"/api/tags/{web.pk}/merge/", {"into": 999999}, format="json")
    assert answer.status_code == 400 and "into" in answer.json()
    assert Tag.objects.filter(pk=web.pk).exists()


def test_tag_list_is_paginated(alice_api, alice):
    for n in range(5):
        Tag.objects.create(user=alice, name=f"t{n}")
    page = alice_api.get("/api/tags/?page_size=2").json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
