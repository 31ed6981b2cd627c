"""Odd but possible input: strange search strings, NUL bytes, huge ids. Never a 500."""
import pytest

from snapshots.models import Link
from tagging.models import Tag
from tests.factories import make_link

# The link "Anything" at https://example.com/ has the words anything, https, example and com: a query
# without words lists it, one with a word it lacks lists nothing.
ODD_QUERIES = [('"', 1), ('-', 1), ('#', 1), ('"unclosed phrase', 0), ("-#", 1), ("%", 1), ("_", 1),
               ("' OR 1=1 --", 0), ("a" * 5000, 0), ("日本語", 0), ("NEAR(a b)", 0), ("a AND OR NOT", 0),
               ("*", 1), ("^", 1), ("(", 1), (")", 1), (":", 1), ("anyth", 1), ('"example com"', 1)]


@pytest.mark.parametrize("query, count", ODD_QUERIES)
def test_odd_search_queries_are_literal_text(alice_api, alice, query, count):
    make_link(alice, "https://example.com/", title="Anything")
    answer = alice_api.get("/api/links/", {"q": query})
    assert answer.status_code == 200
    assert answer.json()["count"] == count


@pytest.mark.parametrize("query", ["\x00", "tag:\x00", "#\x00"])
def test_nul_in_a_search_is_a_400_naming_q(alice_api, alice, query):
    answer = alice_api.get("/api/links/", {"q": query})
    assert answer.status_code == 400
    assert answer.json() == {"q": ["The text contains a NUL character."]}


@pytest.mark.parametrize("tag", ["a" * 500, "%", "a,b", "pyth", "python%"])
def test_odd_tag_filters_find_nothing(alice_api, alice, tag):
    make_link(alice, "https://example.com/", tags=["python"])
    answer = alice_api.get("/api/links/", {"tag": tag})
    assert answer.status_code == 200
    assert answer.json()["count"] == 0
    assert alice_api.get("/api/links/", {"tag": "PYTHON"}).json()["count"] == 1


@pytest.mark.parametrize("path", ["/api/links/?q=%00", "/api/links/?q=%23%00", "/api/links/?tag=%00",
                                  "/api/tags/?q=%00"])
def test_nul_in_query_parameters_is_a_400(alice_api, path):
    answer = alice_api.get(path)
    assert answer.status_code == 400 and path.split("?")[1].split("=")[0] in answer.json()


@pytest.mark.parametrize("field", ["title", "description", "notes"])
def test_nul_bytes_in_text_fields_are_refused(alice_api, field):
    answer = alice_api.post("/api/links/", {"url": "https://example.com/", field: "a\x00b"}, format="json")
    assert answer.status_code == 400 and field in answer.json()
    assert Link.objects.count() == 0


def test_nul_byte_in_tag_name_is_refused(alice_api):
    answer = alice_api.post("/api/tags/", {"name": "a\x00b"}, format="json")
    assert answer.status_code == 400 and "name" in answer.json()
    assert Tag.objects.count() == 0


@pytest.mark.parametrize("path", ["/api/links/{big}/", "/api/links/{big}/snapshots/", "/api/snapshots/{big}/text/",
                                  "/api/links/-1/", "/api/links/1.5/"])
def test_out_of_range_ids_are_404(alice_api, path):
    assert alice_api.get(path.format(big=10**30)).status_code == 404


def test_out_of_range_merge_target_names_into(alice_api, alice):
    tag = Tag.objects.create(user=alice, name="x")
    answer = alice_api.post(f"/api/tags/{tag.pk}/merge/", {"into": 10**30}, format="json")
    assert answer.status_code == 400 and "into" in answer.json()


@pytest.mark.parametrize("size", ["0", "-5", "abc", "100000"])
def test_odd_page_sizes_are_bounded(alice_api, alice, size):
    make_link(alice, "https://example.com/")
    answer = alice_api.get("/api/links/", {"page_size": size})
    assert answer.status_code == 200 and answer.json()["count"] == 1
