"""The one link query: flags, tags from ?tag= and #tag alike, only the person's own links."""
import pytest

from snapshots.links import queries
from snapshots.links.queries import LinkQuery, query_links
from snapshots.models import Link
from tagging.models import Tag
from tests.factories import make_link


def titles(user, **query) -> list[str]:
    return [link.title for link in query_links(user, LinkQuery(**query))]


@pytest.fixture
def links(alice, bob):
    make_link(alice, "https://example.com/1", title="one", tags=["Python"])
    make_link(alice, "https://example.com/2", title="two", tags=["python", "web"])
    make_link(alice, "https://example.com/3", title="three")
    Link.objects.filter(title="three").update(archived=True, unread=True)
    make_link(bob, "https://example.com/4", title="bob's", tags=["python"])


@pytest.mark.parametrize("rare_up_to", [0, 1000], ids=["common-tag", "rare-tag"])
def test_tags_any_case_anded_newest_first_own_links_only(alice, links, monkeypatch, rare_up_to):
    monkeypatch.setattr(queries, "RARE_TAG_LINKS", rare_up_to)
    assert titles(alice, tags=("PYTHON",)) == ["two", "one"]
    assert titles(alice, tags=("python", "Web")) == ["two"]
    assert titles(alice, text="#python #web") == ["two"]
    assert titles(alice, tags=("web",), text="#python") == ["two"]
    assert titles(alice, tags=("nosuch",)) == []


def test_flags(alice, links):
    assert titles(alice) == ["three", "two", "one"]
    assert titles(alice, archived=False) == ["two", "one"]
    assert titles(alice, archived=True, unread=True) == ["three"]
    assert titles(alice, unread=False) == ["two", "one"]


@pytest.mark.parametrize("rare_up_to", [0, 1000], ids=["common-tag", "rare-tag"])
def test_a_tag_matches_in_any_case_beyond_ascii_on_every_database(alice, monkeypatch, rare_up_to):
    monkeypatch.setattr(queries, "RARE_TAG_LINKS", rare_up_to)
    link = make_link(alice, "https://example.com/ete", title="summer")
    link.tags.add(Tag.objects.create(user=alice, name="Été"), Tag.objects.create(user=alice, name="Straße"))
    assert titles(alice, tags=("ÉTÉ",)) == ["summer"]
    assert titles(alice, text="#été #STRASSE") == ["summer"]
    assert titles(alice, tags=("Ete",)) == []  # accents still count in a tag's name
