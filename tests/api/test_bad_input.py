"""Bad input gets a 4xx JSON error naming the field, and nothing saved changes."""
import json

import pytest
from django.conf import settings

from snapshots.models import Link
from tagging.models import Tag
from tests.factories import make_link

BAD_URLS = [
    ("not a url", "url"),
    ("no-scheme-no-dot", "url"),
    ("javascript:alert(1)", "url"),
    ("file:///etc/passwd", "url"),
    ("data:text/html,<b>x</b>", "url"),
    ("https://exa mple.com/space", "url"),
    ("https://example.com/" + "a" * 2049, "url"),
    ("", "url"),
    (12345, "url"),
    (None, "url"),
]
BAD_TAGS = [
    ["a,b"],
    ["x" * 65],
    [7],
    [None],
    [["nested"]],
    "not-a-list",
    {"a": 1},
]


def _error_fields(answer) -> set[str]:
    return set(answer.json())


@pytest.mark.parametrize("url,field", BAD_URLS)
def test_create_rejects_bad_urls(alice_api, url, field):
    answer = alice_api.post("/api/links/", {"url": url}, format="json")
    assert answer.status_code == 400
    assert field in _error_fields(answer)
    assert Link.objects.count() == 0


@pytest.mark.parametrize("tags", BAD_TAGS)
def test_create_rejects_bad_tags(alice_api, tags):
    answer = alice_api.post("/api/links/", {"url": "https://example.com/", "tags": tags}, format="json")
    assert answer.status_code == 400
    assert "tags" in _error_fields(answer)
    assert Link.objects.count() == 0 and Tag.objects.count() == 0


def test_bad_tag_error_says_which_item(alice_api):
    answer = alice_api.post("/api/links/", {"url": "https://example.com/", "tags": ["ok", "a,b"]}, format="json")
    assert "comma" in answer.json()["tags"]["1"][0]


def test_create_needs_a_url(alice_api):
    answer = alice_api.post("/api/links/", {"title": "no url"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["url"] == ["This field is required."]


def test_resaving_with_bad_tags_keeps_the_saved_link(alice_api, alice):
    link = make_link(alice, "https://example.com/", tags=["kept"], title="Kept")
    answer = alice_api.post("/api/links/", {"url": "https://example.com/", "tags": ["kept", "a,b"]}, format="json")
    assert answer.status_code == 400
    assert [tag.name for tag in Link.objects.get(pk=link.pk).tags.all()] == ["kept"]


@pytest.mark.parametrize("body,field", [
    ({"url": "javascript:alert(1)", "title": "changed"}, "url"),
    ({"url": "https://example.com/" + "a" * 2049}, "url"),
    ({"tags": ["fine", "a,b"], "title": "changed"}, "tags"),
    ({"tags": "fine", "title": "changed"}, "tags"),
    ({"title": "t" * 513}, "title"),
    ({"title": None}, "title"),
    ({"archived": "perhaps", "title": "changed"}, "archived"),
    ({"unread": [1]}, "unread"),
])
def test_bad_patch_changes_nothing(alice_api, alice, body, field):
    link = make_link(alice, "https://example.com/keep", tags=["old"], title="Before")
    before = Link.objects.get(pk=link.pk)
    answer = alice_api.patch(f"/api/links/{link.pk}/", body, format="json")
    assert answer.status_code == 400
    assert field in _error_fields(answer)
    after = Link.objects.get(pk=link.pk)
    assert (after.url, after.title, after.archived, after.unread, after.updated_at) == (
        before.url, before.title, before.archived, before.unread, before.updated_at)
    assert [tag.name for tag in after.tags.all()] == ["old"]
    assert not Tag.objects.filter(name="fine").exists()


def test_patch_to_another_saved_url_names_url_and_changes_nothing(alice_api, alice):
    make_link(alice, "https://example.com/taken")
    link = make_link(alice, "https://example.com/mine", title="Mine")
    answer = alice_api.patch(f"/api/links/{link.pk}/", {"url": "https://example.com/taken", "title": "X"},
                             format="json")
    assert answer.status_code == 400
    assert "url" in answer.json()
    link.refresh_from_db()
    assert (link.url, link.title) == ("https://example.com/mine", "Mine")


@pytest.mark.parametrize("path", ["/api/links/", "/api/tags/", "/api/auth/token/"])
def test_malformed_json_is_a_400(alice_api, path):
    answer = alice_api.post(path, b'{"url": "https://example.com/",', content_type="application/json")
    assert answer.status_code == 400
    assert "JSON parse error" in answer.json()["detail"]


def test_json_that_is_not_an_object_is_a_400(alice_api):
    answer = alice_api.post("/api/links/", ["https://example.com/"], format="json")
    assert answer.status_code == 400
    assert "non_field_errors" in answer.json()


def test_unsupported_media_type_is_a_415(alice_api):
    answer = alice_api.post("/api/links/", b"url=https://example.com/", content_type="text/plain")
    assert answer.status_code == 415
    assert "detail" in answer.json()


def _oversized_json() -> bytes:
    notes = "n" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    return json.dumps({"url": "https://example.com/big", "notes": notes}).encode()


@pytest.mark.parametrize("method,path", [("post", "/api/links/"), ("patch", "/api/links/{id}/"),
                                         ("post", "/api/tags/"), ("post", "/api/auth/token/")])
def test_oversized_json_body_is_a_413_json_error(alice_api, alice, method, path):
    link = make_link(alice, "https://example.com/keep", notes="small")
    answer = getattr(alice_api, method)(path.format(id=link.pk), _oversized_json(),
                                        content_type="application/json")
    assert answer.status_code == 413
    assert "larger than" in answer.json()["detail"]
    assert Link.objects.get(pk=link.pk).notes == "small"
    assert Link.objects.count() == 1


def test_oversized_form_body_is_a_413_json_error(alice_api):
    body = b"username=alice&password=" + b"p" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    answer = alice_api.post("/api/auth/token/", body, content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 413
    assert answer["Content-Type"] == "application/json"


def test_body_just_under_the_limit_is_accepted(alice_api):
    notes = "n" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 200)
    body = json.dumps({"url": "https://example.com/fits", "notes": notes}).encode()
    assert len(body) <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert alice_api.post("/api/links/", body, content_type="application/json").status_code == 201


@pytest.mark.parametrize("path", ["/api/links/999999/", "/api/links/abc/", "/api/tags/999999/"])
def test_unknown_ids_are_404_json(alice_api, path):
    answer = alice_api.get(path) if "links" in path else alice_api.patch(path, {"name": "x"}, format="json")
    assert answer.status_code == 404
    assert "detail" in answer.json()
