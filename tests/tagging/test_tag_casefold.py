"""One case-folded tag rule beyond ASCII, on SQLite and Postgres alike, with a constraint behind it."""
import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from tagging.models import Tag
from tagging.services import create_tag, get_or_create_tags, rename_tag
from tests.api.conftest import token_client
from tests.factories import make_link

pytestmark = pytest.mark.django_db


def test_spellings_differing_in_non_ascii_case_are_one_tag(alice):
    first = get_or_create_tags(alice, ["Été"])
    again = get_or_create_tags(alice, ["ÉTÉ", "été", "Straße"])
    assert again[0] == first[0] and len(again) == 2
    assert get_or_create_tags(alice, ["STRASSE"]) == [again[1]]
    assert sorted(Tag.objects.filter(user=alice).values_list("name", flat=True)) == ["Straße", "Été"]


def test_the_database_refuses_a_second_spelling(alice):
    Tag.objects.create(user=alice, name="Été")
    with pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.create(user=alice, name="ÉTÉ")


def test_create_and_rename_name_the_existing_spelling(alice):
    Tag.objects.create(user=alice, name="Été")
    other = Tag.objects.create(user=alice, name="hiver")
    with pytest.raises(Exception) as created:
        create_tag(alice, "ÉTÉ")
    assert "“Été”" in str(created.value)
    with pytest.raises(Exception) as renamed:
        rename_tag(other, "été")
    assert "“Été”" in str(renamed.value)


def test_filters_and_search_find_any_spelling(alice, alice_client):
    make_link(alice, "https://example.com/summer", tags=["Été"])
    api = token_client(alice)
    for query in ["tag=ÉTÉ", "tag=été", "q=%23ÉTÉ"]:
        body = api.get(f"/api/links/?{query}").json()
        assert [link["url"] for link in body["results"]] == ["https://example.com/summer"], query
    assert "example.com/summer" in alice_client.get("/?tag=ÉTÉ").content.decode()


@pytest.mark.django_db(transaction=True)
def test_migration_merges_tags_that_were_duplicates_before(alice):
    executor = MigrationExecutor(connection)
    before = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "tagging"]
    before.append(("tagging", "0001_initial"))
    executor.migrate([("tagging", "0001_initial")])
    old = executor.loader.project_state(before).apps
    OldTag, OldLink = old.get_model("tagging", "Tag"), old.get_model("snapshots", "Link")
    link_a = OldLink.objects.create(user_id=alice.pk, url="https://example.com/a")
    link_b = OldLink.objects.create(user_id=alice.pk, url="https://example.com/b")
    if connection.vendor == "sqlite":  # Postgres's lower() already refused these
        OldTag.objects.create(user_id=alice.pk, name="Été").links.add(link_a)
        OldTag.objects.create(user_id=alice.pk, name="ÉTÉ").links.add(link_b)
    else:
        OldTag.objects.create(user_id=alice.pk, name="Été").links.add(link_a, link_b)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    tags = list(Tag.objects.filter(user=alice))
    assert [tag.name for tag in tags] == ["Été"] and tags[0].name_key == "été"
    assert sorted(tags[0].links.values_list("url", flat=True)) == ["https://example.com/a", "https://example.com/b"]
