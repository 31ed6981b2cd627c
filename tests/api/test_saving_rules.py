"""One set of saving rules for the web form and the API: empty tags, duplicate tags, races, URLs."""
import pytest
from django.db import connection
from django.urls import reverse

from snapshots.models import Link
from tagging.models import Tag
from tests.factories import make_link

pytestmark = pytest.mark.django_db


def test_empty_tags_are_skipped_alike_in_form_and_api(alice_client, alice_api, alice):
    alice_client.post(reverse("link-add"), {"url": "https://example.com/form", "tags": "a, , b"})
    answer = alice_api.post("/api/links/", {"url": "https://example.com/api", "tags": ["a", "", "  ", "b"]},
                            format="json")
    assert answer.status_code == 201 and answer.json()["tags"] == ["a", "b"]
    form_link = Link.objects.get(url="https://example.com/form")
    assert sorted(tag.name for tag in form_link.tags.all()) == ["a", "b"]


def test_duplicate_tag_error_names_the_existing_tag(alice_api, alice):
    Tag.objects.create(user=alice, name="Python")
    answer = alice_api.post("/api/tags/", {"name": "PYTHON"}, format="json")
    assert answer.status_code == 400
    assert "“Python”" in answer.json()["name"][0]


def _insert_before(table: str, insert_sql: str, params: list):
    """A DB-level interleaving: another writer's row lands just before this request's UPDATE."""
    done = []

    def wrapper(execute, sql, sql_params, many, context):
        if not done and sql.lstrip().upper().startswith("UPDATE") and table in sql:
            done.append(True)
            execute(insert_sql, params, False, context)
        return execute(sql, sql_params, many, context)

    return connection.execute_wrapper(wrapper)


def test_rename_into_a_name_taken_meanwhile_is_a_400_naming_the_field(alice_api, alice):
    tag = Tag.objects.create(user=alice, name="old")
    insert = ("INSERT INTO tagging_tag (user_id, name, name_key, created_at) "
              "VALUES (%s, %s, %s, CURRENT_TIMESTAMP)")
    with _insert_before("tagging_tag", insert, [alice.pk, "new", "new"]):
        answer = alice_api.patch(f"/api/tags/{tag.pk}/", {"name": "new"}, format="json")
    assert answer.status_code == 400
    assert "“new”" in answer.json()["name"][0]
    assert Tag.objects.get(pk=tag.pk).name == "old"


def test_link_update_into_a_url_taken_meanwhile_is_a_400_naming_the_field(alice_api, alice):
    link = make_link(alice, "https://example.com/one")
    insert = ("INSERT INTO snapshots_link (user_id, url, title, description, notes, page_text, unread, "
              "archived, created_at, updated_at) VALUES (%s, %s, '', '', '', '', false, false, "
              "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    with _insert_before("snapshots_link", insert, [alice.pk, "https://example.com/two"]):
        answer = alice_api.patch(f"/api/links/{link.pk}/", {"url": "https://example.com/two"}, format="json")
    assert answer.status_code == 400
    assert "already saved this URL" in answer.json()["url"][0]
    assert Link.objects.get(pk=link.pk).url == "https://example.com/one"
