"""Bodies nested absurdly deep and ?tag= repeated many times get clear answers, not 500s."""
import pytest

from snapshots.links.queries import MAX_TAG_FILTERS
from tests.factories import make_link

pytestmark = pytest.mark.django_db
DEPTH = 100_000


@pytest.mark.parametrize("body", ["[" * DEPTH + "]" * DEPTH, '{"a":' * DEPTH + "1" + "}" * DEPTH])
def test_deeply_nested_json_is_a_400(alice_api, body):
    answer = alice_api.post("/api/links/", body, content_type="application/json")
    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["detail"]


def test_deeply_nested_json_to_the_tag_api_is_a_400(alice_api):
    answer = alice_api.post("/api/tags/", "[" * DEPTH, content_type="application/json")
    assert answer.status_code == 400


def test_forty_tag_filters_are_capped_like_the_web_list_and_say_so(alice_api, alice):
    names = [f"t{i}" for i in range(40)]
    make_link(alice, "https://example.com/all", tags=names[:MAX_TAG_FILTERS])
    make_link(alice, "https://example.com/some", tags=names[:3])
    query = "&".join(f"tag={name}" for name in names)
    answer = alice_api.get(f"/api/links/?{query}")
    assert answer.status_code == 200
    body = answer.json()
    assert [link["url"] for link in body["results"]] == ["https://example.com/all"]
    assert body["notes"] == [f"Only the first {MAX_TAG_FILTERS} of the 40 tag filters were applied."]


def test_repeated_tag_filters_count_once_and_add_no_note(alice_api, alice):
    make_link(alice, "https://example.com/x", tags=["Python"])
    answer = alice_api.get("/api/links/?" + "&".join(["tag=python", "tag=PYTHON"] * 20))
    body = answer.json()
    assert answer.status_code == 200 and body["count"] == 1 and "notes" not in body
