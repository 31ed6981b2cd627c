"""Search results show the text around the first match with the searched words marked."""
import pytest
from django.urls import reverse

from snapshots.models import Link
from snapshots.search.snippets import matcher, snippet
from tests.factories import make_link

PAGE = ("An introduction that says nothing much. " * 5 + "Modern C++ makes resource handling safe with "
        "RAII; the café next door serves coffee while you read about Python packaging. " + "Filler words. " * 40)


@pytest.mark.no_postgres
def test_snippet_marks_every_searched_word_in_the_window():
    piece = snippet(PAGE, matcher("python cafe"))
    assert "<mark>café</mark>" in piece and "<mark>Python</mark>" in piece
    assert piece.startswith("…") and piece.endswith("…")
    assert len(piece) < 400


@pytest.mark.no_postgres
def test_snippet_finds_special_names_and_prefixes_and_escapes():
    assert "<mark>C++</mark>" in snippet(PAGE, matcher("C++"))
    assert "<mark>pack</mark>aging" in snippet(PAGE, matcher("pack"))
    assert snippet("<b>tag</b> soup", matcher("soup")) == "&lt;b&gt;tag&lt;/b&gt; <mark>soup</mark>"
    assert snippet(PAGE, matcher("nosuchword")) is None
    assert matcher('-excluded #tag') is None


@pytest.mark.django_db
def test_search_results_show_snippets(alice_client, alice):
    link = make_link(alice, "https://example.com/cpp", title="Resource handling")
    Link.objects.filter(pk=link.pk).update(page_text=PAGE)
    make_link(alice, "https://example.com/other", title="Other", description="Nothing to see")
    html = alice_client.get(reverse("link-list") + "?q=raii").content.decode()
    assert '<p class="link-snippet">' in html and "<mark>RAII</mark>" in html
    plain = alice_client.get(reverse("link-list")).content.decode()
    assert "<mark>" not in plain
