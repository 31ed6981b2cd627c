"""Readable text on the link page: Markdown tables become tables, long text is folded, all escaped."""
import pytest
from django.urls import reverse

from snapshots.capture.extract import readable_text
from snapshots.models import Snapshot
from snapshots.web.readable_text import readable_html
from tests.factories import make_link

WIKI_PAGE = """<!doctype html><html><body><main><article><h1>Planets</h1>
<p>The planets of the solar system differ a great deal in size and in their distance from the sun,
which this article sets out in a table with one row for each of the inner planets.</p>
<table class="wikitable"><tr><th>Planet</th><th>Moons</th></tr>
<tr><td>Earth</td><td>1</td></tr><tr><td>Mars</td><td>2</td></tr></table>
<p>Beyond Mars lies the asteroid belt, and further out the giant planets with their many moons.</p>
</article></main></body></html>"""


@pytest.mark.no_postgres
def test_a_wikipedia_style_table_is_shown_as_a_table():
    text = readable_text(WIKI_PAGE, "https://en.wikipedia.org/wiki/Planet", 100_000)
    assert "|" in text  # what trafilatura writes for a table
    html = readable_html(text)
    assert "<th>Planet</th>" in html and "<td>Mars</td><td>2</td>" in html
    assert "|" not in html and "---" not in html
    assert "<p>Beyond Mars lies the asteroid belt" in html


@pytest.mark.no_postgres
def test_text_is_escaped_and_long_text_folded():
    html = readable_html("<script>x</script>\n" + "\n".join(f"Paragraph {i} " + "word " * 40 for i in range(100)))
    assert "<script>" not in html and "&lt;script&gt;" in html
    before, folded = html.split("<details", 1)
    assert "Paragraph 0" in before and "Paragraph 99" in folded and "Paragraph 99" not in before
    assert "Show all of the text" in folded


@pytest.mark.no_postgres
def test_short_text_is_not_folded():
    assert "<details" not in readable_html("One short paragraph.\nAnother one.")


@pytest.mark.django_db
def test_link_page_shows_the_table_and_folds_the_rest(alice_client, alice):
    link = make_link(alice, "https://en.wikipedia.org/wiki/Planet")
    text = "| Planet | Moons |\n|---|---|\n| Mars | 2 |\n" + "\n".join("Long text " * 50 for _ in range(50))
    Snapshot.objects.filter(link=link).update(status=Snapshot.Status.DONE, text=text)
    html = alice_client.get(reverse("link-detail", kwargs={"pk": link.pk})).content.decode()
    assert "<td>Mars</td><td>2</td>" in html and "|---|" not in html
    assert "Show all of the text" in html
