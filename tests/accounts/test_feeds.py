"""RSS and Atom feeds of all links, a tag or a search, by a regenerable feed token."""
import xml.etree.ElementTree as ET

import pytest

from accounts import services
from tests.factories import make_link

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def links(alice, bob):
    make_link(alice, "https://example.com/python", tags=["python"], title="Python tips")
    make_link(alice, "https://example.com/rust", tags=["rust"], title="Rust book", description="About rust")
    make_link(bob, "https://example.com/bob", title="Bob's secret")


def rss_titles(response) -> list[str]:
    return [item.findtext("title") for item in ET.fromstring(response.content).iter("item")]


def test_rss_of_all_links(client, alice, links):
    key = services.feed_token(alice).key
    response = client.get(f"/feeds/{key}/rss/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/rss+xml")
    assert rss_titles(response) == ["Rust book", "Python tips"]
    item = next(ET.fromstring(response.content).iter("item"))
    assert item.findtext("link") == "https://example.com/rust" and item.findtext("category") == "rust"


def test_atom_of_a_tag_and_rss_of_a_search(client, alice, links):
    key = services.feed_token(alice).key
    atom = ET.fromstring(client.get(f"/feeds/{key}/tag/python/atom/").content)
    assert [entry.findtext(f"{ATOM}title") for entry in atom.iter(f"{ATOM}entry")] == ["Python tips"]
    assert rss_titles(client.get(f"/feeds/{key}/rss/?q=rust")) == ["Rust book"]


def test_a_regenerated_token_retires_the_old_feed(client, alice, links):
    old = services.feed_token(alice).key
    new = services.regenerate_feed_token(alice).key
    assert client.get(f"/feeds/{old}/rss/").status_code == 404
    assert client.get(f"/feeds/{new}/rss/").status_code == 200


def test_unknown_token_is_404_and_feeds_never_mix_people(client, alice, bob, links):
    assert client.get("/feeds/not-a-token/rss/").status_code == 404
    assert rss_titles(client.get(f"/feeds/{services.feed_token(bob).key}/rss/")) == ["Bob's secret"]
