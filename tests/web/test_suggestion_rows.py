"""List rows show suggested tags apart from real ones, accept one in a click, and stay fresh in the cache."""
import re

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from snapshots.models import Link
from tagging.models import TagSuggestion
from tagging.scoring.score import Scored
from tagging.suggestions import service as suggestions
from tests.factories import make_analysis, make_link, make_suggestion

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = reverse("link-list")


def list_html(client, **params) -> str:
    response = client.get(LIST, params)
    assert response.status_code == 200
    return response.content.decode()


def row_of(html: str, link: Link) -> str:
    start = html.index(f'data-link-id="{link.pk}"')
    end = html.find('<li class="link-row', start)
    return html[start:end if end != -1 else None]


def real_tags(row: str) -> list[str]:
    return re.findall(r'<a class="chip" href="[^"]*">([^<]+)</a>', row)


def suggested(row: str) -> list[str]:
    return re.findall(r'<button class="chip chip-suggested[^"]*"[^>]*value="([^"]+)"', row)


@pytest.fixture
def link(alice):
    link = make_link(alice, "https://example.com/a", title="Async in Python", tags=["code"])
    make_analysis(link, "done")
    make_suggestion(link, "python", 0.91, ["3 similar links are tagged python"])
    make_suggestion(link, "asyncio", 0.42, ["title mentions 'asyncio'"], existing=False)
    make_suggestion(link, "wrong", 0.8, state="rejected")
    return link


def accept_in_row(client, link, name, **extra):
    return client.post(reverse("link-suggestions-accept", args=[link.pk]), {"tag": name, "variant": "row"}, **extra)


def test_rows_show_suggested_tags_apart_from_real_ones(alice_client, link):
    row = row_of(list_html(alice_client), link)
    assert real_tags(row) == ["code"] and suggested(row) == ["python", "asyncio"]
    python = re.search(r'<button class="chip chip-suggested"[^>]*value="python".*?</button>', row).group(0)
    assert "91%" in python and "3 similar links are tagged python" in python
    assert f'hx-post="{reverse("link-suggestions-accept", args=[link.pk])}"' in python
    assert 'class="chip chip-suggested chip-new"' in row  # a proposed name looks different again


def test_rows_load_suggestions_without_a_query_per_link(alice_client, alice, settings):
    settings.LINKSHOT_LIST_CACHE_SECONDS = 0  # count the rendering, not the cache

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            list_html(alice_client)
        return len(captured)

    for n in range(2):
        make_suggestion(make_link(alice, f"https://example.com/{n}"), f"tag{n}", 0.5)
    few = queries()
    for n in range(2, 20):
        make_suggestion(make_link(alice, f"https://example.com/{n}"), f"tag{n}", 0.5)
    assert queries() == few
    assert len(suggested(list_html(alice_client))) == 20


def test_cached_rows_carry_no_csrf_token(alice_client, link):
    html = list_html(alice_client)
    rows = html[html.index('<ul class="links"'):]
    assert "csrfmiddlewaretoken" not in rows
    assert re.search(r'<form id="suggestion-form" method="post" hidden><input type="hidden" '
                     r'name="csrfmiddlewaretoken"', html)


def test_one_click_accept_returns_the_row_with_the_tag_applied(alice_client, link):
    response = accept_in_row(alice_client, link, "python", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.strip().startswith("<li class=\"link-row")
    assert html.count('<li class="link-row') == 1 and f'data-link-id="{link.pk}"' in html
    assert real_tags(html) == ["code", "python"] and suggested(html) == ["asyncio"]


def test_row_accept_of_a_name_not_suggested_shows_the_reason_in_the_row(alice_client, link):
    response = accept_in_row(alice_client, link, "nope", **HTMX)
    html = response.content.decode()
    assert response.status_code == 400 and 'class="row-error" role="alert"' in html
    assert "Not suggested for this link" in html and suggested(html) == ["python", "asyncio"]


def test_row_accept_without_javascript_goes_back_to_the_list_page(alice_client, link):
    response = alice_client.post(reverse("link-suggestions-accept", args=[link.pk]),
                                 {"tag": "asyncio", "next": "/?tag=code"})
    assert response.status_code == 302 and response.url == "/?tag=code"
    assert real_tags(row_of(list_html(alice_client, tag="code"), link)) == ["asyncio", "code"]


def test_other_people_cannot_accept_from_a_row(bob_client, link):
    assert accept_in_row(bob_client, link, "python", **HTMX).status_code == 404
    assert not link.tags.filter(name="python").exists()


# The rows are cached per person; every change of suggestions must show on the next view.

def test_accepting_shows_in_cached_rows_at_once(alice_client, link):
    assert suggested(row_of(list_html(alice_client), link)) == ["python", "asyncio"]
    accept_in_row(alice_client, link, "python", **HTMX)
    row = row_of(list_html(alice_client), link)
    assert real_tags(row) == ["code", "python"] and suggested(row) == ["asyncio"]


def test_rejecting_shows_in_cached_rows_at_once(alice_client, link):
    list_html(alice_client)
    alice_client.post(reverse("link-suggestions-reject", args=[link.pk]), {"tag": "asyncio"}, **HTMX)
    assert suggested(row_of(list_html(alice_client), link)) == ["python"]


def test_new_suggestions_from_the_models_show_in_cached_rows_at_once(alice_client, link):
    list_html(alice_client)
    suggestions.store(link, [Scored(tag_id=None, name="concurrency", score=0.66, reasons=["new"])])
    assert suggested(row_of(list_html(alice_client), link)) == ["concurrency"]


def test_tagging_by_hand_clears_the_suggested_chip_at_once(alice_client, link):
    list_html(alice_client)
    link.tags.add(TagSuggestion.objects.get(link=link, name="python").tag)
    row = row_of(list_html(alice_client), link)
    assert "python" in real_tags(row) and suggested(row) == ["asyncio"]


@override_settings(LINKSHOT_LIST_CACHE_SECONDS=0)
def test_rows_show_suggestions_with_the_cache_off_too(alice_client, link):
    assert suggested(row_of(list_html(alice_client), link)) == ["python", "asyncio"]


# While the models work on a link, its row's tags ask again (like the capture status does).

def tag_slot(html: str, link: Link) -> str:
    start = html.index(f'id="tags-{link.pk}"')
    return html[start:html.index("</div>", start)]


@pytest.mark.parametrize("status, text", [("pending", "suggestions queued"), ("running", "suggesting tags…")])
def test_row_tags_poll_while_the_analysis_works(alice_client, alice, status, text):
    link = make_link(alice, "https://example.com/a")
    link.snapshots.update(status="done")
    make_analysis(link, status)
    slot = tag_slot(list_html(alice_client), link)
    assert text in slot and 'hx-trigger="every 2s"' in slot
    assert f'hx-get="{reverse("link-suggestions", args=[link.pk])}?variant=row"' in slot


def test_row_tags_do_not_poll_beside_a_running_capture_or_once_analysed(alice_client, alice, link):
    capturing = make_link(alice, "https://example.com/capturing")  # the status slot polls for it
    html = list_html(alice_client)
    assert "every 2s" not in tag_slot(html, capturing) and "every 2s" not in tag_slot(html, link)


def test_failed_analysis_shows_in_the_row_with_the_reason(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    link.snapshots.update(status="done")
    make_analysis(link, "failed", error="Text model could not load")
    slot = tag_slot(list_html(alice_client), link)
    assert "analysis failed" in slot and 'title="Text model could not load"' in slot and "every 2s" not in slot


def test_row_tags_partial_shows_suggestions_once_they_appear(alice_client, alice):
    link = make_link(alice, "https://example.com/a", tags=["code"])
    link.snapshots.update(status="done")
    analysis = make_analysis(link, "running")
    url = reverse("link-suggestions", args=[link.pk]) + "?variant=row"
    assert "every 2s" in alice_client.get(url, **HTMX).content.decode()
    make_suggestion(link, "python", 0.88)
    analysis.status = "done"
    analysis.save()
    html = alice_client.get(url, **HTMX).content.decode()
    assert real_tags(html) == ["code"] and suggested(html) == ["python"] and "every 2s" not in html


def test_capture_end_brings_the_row_tags_along_to_follow_the_analysis(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    status_url = reverse("link-status", args=[link.pk])
    assert f'id="tags-{link.pk}"' not in alice_client.get(status_url, **HTMX).content.decode()
    link.snapshots.update(status="done", finished_at=timezone.now())
    make_analysis(link, "pending")
    html = alice_client.get(status_url, **HTMX).content.decode()
    slot = tag_slot(html, link)
    assert 'hx-swap-oob="true"' in slot and "every 2s" in slot and "suggestions queued" in slot


def test_names_and_reasons_are_escaped_everywhere(alice_client, alice):
    link = make_link(alice, "https://example.com/x")
    make_suggestion(link, "<b>bold</b>", 0.5, ['title says "<script>alert(1)</script>"'], existing=False)
    for url in (LIST, reverse("link-detail", args=[link.pk]), reverse("suggestion-review")):
        html = alice_client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html and "<b>bold</b>" not in html
        assert "&lt;b&gt;bold&lt;/b&gt;" in html
