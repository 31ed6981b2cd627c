"""Links over the API: create/merge, read, edit, delete, list filters and pagination."""
from django.db import connection
from django.test.utils import CaptureQueriesContext

from snapshots.models import Link, Snapshot
from tagging.models import Tag
from tests.factories import make_link
from tests.support.on_commit import capture_sends


def test_create_returns_201_with_the_link_json(alice_api, alice):
    answer = alice_api.post("/api/links/", {
        "url": "HTTPS://Example.com:443/page?utm_source=x#top", "title": "Example",
        "description": "A page", "notes": "read later", "tags": ["Python", "web"],
    }, format="json")
    assert answer.status_code == 201
    body = answer.json()
    assert body["url"] == "https://example.com/page"
    assert (body["title"], body["description"], body["notes"]) == ("Example", "A page", "read later")
    assert body["tags"] == ["Python", "web"]
    assert body["unread"] is False and body["archived"] is False
    assert body["suggestions"] == []
    assert body["snapshot"]["status"] == "pending"
    assert set(body) >= {"id", "created_at", "updated_at"}
    assert Link.objects.get(pk=body["id"]).user == alice


def test_saving_a_saved_url_again_returns_200_and_merges_tags(alice_api):
    first = alice_api.post("/api/links/", {"url": "https://example.com/a", "title": "Kept",
                                           "tags": ["one"]}, format="json")
    again = alice_api.post("/api/links/", {"url": "https://EXAMPLE.com/a?utm_medium=mail",
                                           "title": "Ignored", "tags": ["ONE", "two"]}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["title"] == "Kept"
    assert again.json()["tags"] == ["one", "two"]
    assert Link.objects.count() == 1
    assert Snapshot.objects.count() == 1  # no second capture for a merge


def test_create_queues_a_capture_after_commit(alice_api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alice_api.post("/api/links/", {"url": "https://example.com/q"}, format="json")
    assert len(capture_sends(callbacks)) == 1


def test_get_one_link(alice_api, alice):
    link = make_link(alice, "https://example.com/one", tags=["b", "a"], title="One")
    body = alice_api.get(f"/api/links/{link.pk}/").json()
    assert body["id"] == link.pk and body["title"] == "One"
    assert body["tags"] == ["a", "b"]


def test_patch_changes_only_given_fields(alice_api, alice):
    link = make_link(alice, "https://example.com/p", tags=["old"], title="Before", notes="keep")
    answer = alice_api.patch(f"/api/links/{link.pk}/", {"title": "After", "unread": True}, format="json")
    assert answer.status_code == 200
    link.refresh_from_db()
    assert (link.title, link.notes, link.unread) == ("After", "keep", True)
    assert [tag.name for tag in link.tags.all()] == ["old"]


def test_patch_tags_replace_and_archived_flag(alice_api, alice):
    link = make_link(alice, "https://example.com/t", tags=["old", "keep"])
    answer = alice_api.patch(f"/api/links/{link.pk}/", {"tags": ["keep", "new"], "archived": True}, format="json")
    assert answer.json()["tags"] == ["keep", "new"]
    assert answer.json()["archived"] is True
    assert Link.objects.get(pk=link.pk).archived is True


def test_patch_empty_tag_list_removes_all_tags(alice_api, alice):
    link = make_link(alice, "https://example.com/t", tags=["old"])
    assert alice_api.patch(f"/api/links/{link.pk}/", {"tags": []}, format="json").json()["tags"] == []
    assert Tag.objects.filter(name="old").exists()  # the vocabulary keeps the tag


def test_patch_url_is_normalised(alice_api, alice):
    link = make_link(alice, "https://example.com/old")
    answer = alice_api.patch(f"/api/links/{link.pk}/", {"url": "https://Example.com/new?utm_source=a"}, format="json")
    assert answer.json()["url"] == "https://example.com/new"


def test_delete_removes_link_and_snapshots(alice_api, alice):
    link = make_link(alice, "https://example.com/gone")
    assert alice_api.delete(f"/api/links/{link.pk}/").status_code == 204
    assert not Link.objects.filter(pk=link.pk).exists()
    assert not Snapshot.objects.filter(link_id=link.pk).exists()
    assert alice_api.get(f"/api/links/{link.pk}/").status_code == 404


def test_put_is_not_offered(alice_api, alice):
    link = make_link(alice, "https://example.com/put")
    assert alice_api.put(f"/api/links/{link.pk}/", {"url": "https://example.com/x"}, format="json").status_code == 405


def test_list_is_newest_first_and_paginated(alice_api, alice):
    links = [make_link(alice, f"https://example.com/{n}") for n in range(5)]
    page = alice_api.get("/api/links/?page_size=2").json()
    assert page["count"] == 5
    assert [item["id"] for item in page["results"]] == [links[4].pk, links[3].pk]
    second = alice_api.get(page["next"]).json()
    assert [item["id"] for item in second["results"]] == [links[2].pk, links[1].pk]
    assert alice_api.get("/api/links/?page=99").status_code == 404


def test_list_searches_with_the_search_syntax(alice_api, alice):
    make_link(alice, "https://example.com/1", title="Django REST tips", tags=["python"])
    make_link(alice, "https://example.com/2", title="Django ORM tips")
    make_link(alice, "https://example.com/3", title="Rust tips", tags=["python"])

    def titles(query: str) -> set[str]:
        return {item["title"] for item in alice_api.get("/api/links/", {"q": query}).json()["results"]}

    assert titles("django tips") == {"Django REST tips", "Django ORM tips"}
    assert titles('"REST tips"') == {"Django REST tips"}
    assert titles("tips -orm") == {"Django REST tips", "Rust tips"}
    assert titles("#python django") == {"Django REST tips"}


def test_list_tag_filter_is_repeatable_anded_and_case_insensitive(alice_api, alice):
    make_link(alice, "https://example.com/1", tags=["Python", "web"], title="both")
    make_link(alice, "https://example.com/2", tags=["python"], title="one")
    make_link(alice, "https://example.com/3", title="none")

    def titles(params: str) -> list[str]:
        return sorted(item["title"] for item in alice_api.get(f"/api/links/?{params}").json()["results"])

    assert titles("tag=PYTHON") == ["both", "one"]
    assert titles("tag=python&tag=WEB") == ["both"]
    assert titles("tag=missing") == []


def test_list_filters_mean_what_they_mean_on_the_web_list(alice_api, alice, alice_client):
    """One query module serves both: ?tag= and #tag, any case (non-ASCII too), the same links."""
    make_link(alice, "https://example.com/1", tags=["Été", "web"], title="Title-one")
    make_link(alice, "https://example.com/2", tags=["Été"], title="Title-two")
    make_link(alice, "https://example.com/3", tags=["web"], title="Title-three")
    titles = ("Title-one", "Title-two", "Title-three")

    def api_titles(params: dict) -> list[str]:
        return sorted(item["title"] for item in alice_api.get("/api/links/", params).json()["results"])

    def web_titles(params: dict) -> list[str]:
        html = alice_client.get("/", params).content.decode()
        return sorted(title for title in titles if title in html)

    for params, expected in [({"tag": "ÉTÉ"}, ["Title-one", "Title-two"]), ({"tag": ["été", "WEB"]}, ["Title-one"]),
                             ({"q": "#ÉTÉ"}, ["Title-one", "Title-two"]), ({"q": "#web two"}, []),
                             ({"q": "#web one"}, ["Title-one"])]:
        assert api_titles(params) == web_titles(params) == expected, params


def test_list_archived_and_unread_filters(alice_api, alice):
    make_link(alice, "https://example.com/1", title="archived")
    Link.objects.filter(title="archived").update(archived=True)
    make_link(alice, "https://example.com/2", title="unread")
    Link.objects.filter(title="unread").update(unread=True)
    make_link(alice, "https://example.com/3", title="plain")

    def titles(params: str) -> list[str]:
        return sorted(item["title"] for item in alice_api.get(f"/api/links/?{params}").json()["results"])

    assert titles("archived=true") == ["archived"]
    assert titles("archived=false") == ["plain", "unread"]
    assert titles("unread=1") == ["unread"]
    assert titles("") == ["archived", "plain", "unread"]


def test_bad_flag_value_names_the_parameter(alice_api):
    answer = alice_api.get("/api/links/?archived=maybe")
    assert answer.status_code == 400
    assert "archived" in answer.json()


def test_list_query_count_does_not_grow_with_links(alice_api, alice):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_api.get("/api/links/").status_code == 200
        return len(captured)

    for n in range(3):
        make_link(alice, f"https://example.com/{n}", tags=["a", "b"])
    few = queries_for_list()
    for n in range(3, 20):
        link = make_link(alice, f"https://example.com/{n}", tags=["a", f"t{n}"])
        Snapshot.objects.create(link=link, status=Snapshot.Status.DONE)
    assert queries_for_list() == few
