import pytest
from django.urls import reverse

from tagging.models import Tag
from tests.factories import make_link
from tests.web.conftest import page_messages

pytestmark = pytest.mark.django_db


def tag_url(name, tag):
    return reverse(name, kwargs={"pk": tag.pk})


def names_of(link):
    return sorted(link.tags.values_list("name", flat=True))


@pytest.fixture
def tagged(alice):
    make_link(alice, "https://example.com/1", tags=["python", "web"])
    make_link(alice, "https://example.com/2", tags=["python"])
    make_link(alice, "https://example.com/3", tags=["Zebra"])
    return {tag.name: tag for tag in Tag.objects.filter(user=alice)}


def test_tag_list_with_counts_sorted_by_name_or_count(alice_client, tagged):
    response = alice_client.get(reverse("tag-list"))
    assert [(t.name, t.link_count) for t in response.context["tags"]] == [("python", 2), ("web", 1), ("Zebra", 1)]
    response = alice_client.get(reverse("tag-list"), {"sort": "count"})
    assert [t.name for t in response.context["tags"]][0] == "python"
    html = response.content.decode()
    assert 'href="/?tag=python"' in html and tag_url("tag-rename", tagged["web"]) in html


def test_tag_cloud_sizes_by_count(alice_client, tagged):
    html = alice_client.get(reverse("tag-list"), {"view": "cloud"}).content.decode()
    assert 'class="cloud-tag size-5"' in html and 'class="cloud-tag size-1"' in html


def test_empty_tag_list(alice_client):
    assert "No tags yet" in alice_client.get(reverse("tag-list")).content.decode()


def test_rename_tag(alice_client, tagged):
    response = alice_client.post(tag_url("tag-rename", tagged["web"]), {"name": "  Web   Dev "})
    assert response.status_code == 302
    tagged["web"].refresh_from_db()
    assert tagged["web"].name == "Web Dev"


@pytest.mark.parametrize("name, message", [
    ("a,b", "contains a comma"),
    ("x" * 65, "longer than 64 characters"),
    ("   ", "Tag names cannot be empty."),
    ("PYTHON", "merge into it instead"),
])
def test_rename_refuses_bad_names(alice_client, tagged, name, message):
    response = alice_client.post(tag_url("tag-rename", tagged["web"]), {"name": name})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["name"])
    assert message in response.content.decode()
    tagged["web"].refresh_from_db()
    assert tagged["web"].name == "web"


def test_merge_moves_links_and_deletes_source(alice_client, alice, tagged):
    response = alice_client.post(tag_url("tag-merge", tagged["web"]), {"into": tagged["python"].pk})
    assert response["Location"] == "/?tag=python"
    assert not Tag.objects.filter(pk=tagged["web"].pk).exists()
    assert tagged["python"].links.count() == 2
    merged = alice_client.post(tag_url("tag-merge", tagged["Zebra"]), {"into": tagged["python"].pk}, follow=True)
    assert "Merged “Zebra” into “python”" in " ".join(page_messages(merged))
    assert tagged["python"].links.count() == 3


def test_merge_page_offers_only_own_other_tags(alice_client, bob, tagged):
    make_link(bob, "https://example.com/b", tags=["bobs"])
    html = alice_client.get(tag_url("tag-merge", tagged["web"])).content.decode()
    assert ">python</option>" in html and ">bobs</option>" not in html and ">web</option>" not in html


def test_merge_refuses_foreign_or_same_target(alice_client, bob, tagged):
    bobs = make_link(bob, "https://example.com/b", tags=["bobs"]).tags.get()
    for target in (bobs.pk, tagged["web"].pk, "nonsense", ""):
        response = alice_client.post(tag_url("tag-merge", tagged["web"]), {"into": target})
        assert response.status_code == 200 and response.context["form"].errors["into"]
    assert Tag.objects.filter(pk=tagged["web"].pk).exists() and bobs.links.count() == 1


def test_merge_without_other_tags_suggests_rename(alice_client, alice):
    make_link(alice, "https://example.com/1", tags=["only"])
    html = alice_client.get(tag_url("tag-merge", Tag.objects.get())).content.decode()
    assert "no other tag" in html


def test_delete_tag_asks_then_keeps_links(alice_client, alice, tagged):
    url = tag_url("tag-delete", tagged["python"])
    assert "removed from 2 links" in alice_client.get(url).content.decode()
    assert Tag.objects.filter(pk=tagged["python"].pk).exists()
    alice_client.post(url)
    assert not Tag.objects.filter(pk=tagged["python"].pk).exists()
    assert alice.links.count() == 3


def test_autocomplete_prefix_first_then_inner(alice_client, alice):
    make_link(alice, "https://example.com/1", tags=["python", "cpython", "pyramid", "rust"])
    make_link(alice, "https://example.com/2", tags=["pyramid"])
    results = alice_client.get(reverse("tag-autocomplete"), {"q": "py"}).json()["results"]
    assert [r["name"] for r in results] == ["pyramid", "python", "cpython"]
    assert results[0]["count"] == 2


def test_autocomplete_is_case_insensitive_and_limited(alice_client, alice):
    make_link(alice, "https://example.com/1", tags=[f"Tag{n:02d}" for n in range(15)])
    results = alice_client.get(reverse("tag-autocomplete"), {"q": "tag"}).json()["results"]
    assert len(results) == 10
    assert alice_client.get(reverse("tag-autocomplete")).json()["results"]


def test_autocomplete_shows_only_own_tags(bob_client, alice, bob):
    make_link(alice, "https://example.com/1", tags=["secret-alice"])
    make_link(bob, "https://example.com/1", tags=["second"])
    results = bob_client.get(reverse("tag-autocomplete"), {"q": "se"}).json()["results"]
    assert [r["name"] for r in results] == ["second"]


def test_autocomplete_needs_login(client):
    assert client.get(reverse("tag-autocomplete"), {"q": "a"}).status_code == 302
