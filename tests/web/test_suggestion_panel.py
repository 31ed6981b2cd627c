"""The link page's tag suggestions: analysis status, polling, one-click accept and reject."""
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from snapshots.models import Link, Snapshot
from tagging.models import Tag, TagSuggestion
from tests.factories import make_analysis, make_link, make_suggestion
from tests.web.conftest import page_messages

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def captured_link(user, url="https://example.com/a", **fields) -> Link:
    link = make_link(user, url, **fields)
    link.snapshots.update(status=Snapshot.Status.DONE)
    return link


def detail(client, link) -> str:
    response = client.get(reverse("link-detail", args=[link.pk]))
    assert response.status_code == 200
    return response.content.decode()


def panel_html(html: str) -> str:
    start = html.index('id="suggestions-panel"')
    return html[start:html.index("</section>", start)]


def link_tags(html: str) -> list[str]:
    block = re.search(r'<div id="link-tags"[^>]*>(.*?)</div>', html, re.S).group(1)
    return re.findall(r'class="chip"[^>]*>([^<]+)</a>', block)


def state_of(link, name) -> str:
    return TagSuggestion.objects.get(link=link, name__iexact=name).state


@pytest.fixture
def link(alice):
    link = captured_link(alice, title="Async in Python")
    make_analysis(link, "done", finished_at=timezone.now(), model_version="a1b2c3d4e5f6a7b8")
    make_suggestion(link, "python", 0.91, ["3 similar links are tagged python", "title mentions 'python'"])
    make_suggestion(link, "asyncio", 0.42, ["title mentions 'asyncio'"], existing=False)
    make_suggestion(link, "rejected-one", 0.8, state="rejected")
    return link


def test_link_page_lists_pending_suggestions_best_first_with_score_and_reasons(alice_client, link):
    panel = panel_html(detail(alice_client, link))
    assert re.findall(r'data-suggestion="([^"]+)"', panel) == ["python", "asyncio"]
    assert "91%" in panel and "42%" in panel and 'value="0.91"' in panel
    assert "3 similar links are tagged python" in panel and "title mentions &#x27;asyncio&#x27;" in panel
    assert panel.count("new tag") == 1  # only the proposed name is marked as new
    assert "Analysed" in panel and "a1b2c3d4e5" in panel and "every 2s" not in panel


@pytest.mark.parametrize("status, text", [("pending", "Waiting for the inference worker"),
                                          ("running", "Looking at the screenshot and the text")])
def test_panel_polls_while_the_analysis_works(alice_client, alice, status, text):
    link = captured_link(alice)
    make_analysis(link, status)
    panel = panel_html(detail(alice_client, link))
    assert f'data-analysis-status="{status}"' in panel and text in panel
    assert f'hx-get="{reverse("link-suggestions", args=[link.pk])}"' in panel and 'hx-trigger="every 2s"' in panel


def test_panel_polls_while_the_capture_that_starts_the_analysis_runs(alice_client, alice):
    link = make_link(alice, "https://example.com/new")  # capture queued, no analysis yet
    panel = panel_html(detail(alice_client, link))
    assert "once its snapshot is captured" in panel and "every 2s" in panel


def test_link_never_analysed_says_so_and_does_not_poll(alice_client, alice):
    panel = panel_html(detail(alice_client, captured_link(alice)))
    assert "Not analysed" in panel and "has not been analysed yet" in panel and "every 2s" not in panel


def test_failed_analysis_shows_the_reason_and_stops_polling(alice_client, alice):
    link = captured_link(alice)
    make_analysis(link, "failed", error="Screenshot unreadable: truncated PNG", attempts=3)
    panel = panel_html(detail(alice_client, link))
    assert 'role="alert"' in panel and "Screenshot unreadable: truncated PNG" in panel
    assert "attempt 3" in panel and "every 2s" not in panel


def test_poll_shows_suggestions_once_they_appear(alice_client, alice):
    link = captured_link(alice)
    analysis = make_analysis(link, "running")
    url = reverse("link-suggestions", args=[link.pk])
    first = alice_client.get(url, **HTMX).content.decode()
    assert "every 2s" in first and "data-suggestion" not in first
    make_suggestion(link, "django", 0.77, ["looks like 4 pages tagged django"])
    analysis.status = "done"
    analysis.save()
    second = alice_client.get(url, **HTMX).content.decode()
    assert 'data-suggestion="django"' in second and "77%" in second and "every 2s" not in second
    assert 'id="link-tags" class="chips" hx-swap-oob="true"' in second  # tags refresh too (auto-apply)


def test_accept_in_one_click_returns_the_panel_and_the_tags(alice_client, link):
    response = alice_client.post(reverse("link-suggestions-accept", args=[link.pk]), {"tag": "python"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'data-suggestion="([^"]+)"', panel_html(html)) == ["asyncio"]
    assert "Tagged with python." in html and link_tags(html) == ["python"]
    assert state_of(link, "python") == "accepted" and list(link.tags.values_list("name", flat=True)) == ["python"]


def test_accepting_a_proposed_name_creates_the_tag(alice_client, alice, link):
    alice_client.post(reverse("link-suggestions-accept", args=[link.pk]), {"tag": "asyncio"}, **HTMX)
    assert Tag.objects.filter(user=alice, name="asyncio").exists() and state_of(link, "asyncio") == "accepted"
    assert "asyncio" in link_tags(detail(alice_client, link))


def test_reject_in_one_click_removes_it_without_tagging(alice_client, link):
    response = alice_client.post(reverse("link-suggestions-reject", args=[link.pk]), {"tag": "Python"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and 'data-suggestion="python"' not in html
    assert "python will not be suggested for this link again." in html and link_tags(html) == []
    assert state_of(link, "python") == "rejected" and not link.tags.exists()


def test_without_javascript_a_decision_redirects_back_with_a_message(alice_client, link):
    response = alice_client.post(reverse("link-suggestions-accept", args=[link.pk]), {"tag": "python"})
    assert response.status_code == 302 and response.url == reverse("link-detail", args=[link.pk])
    page = alice_client.get(response.url)
    assert "Tagged with python." in page_messages(page) and link_tags(page.content.decode()) == ["python"]
    response = alice_client.post(reverse("link-suggestions-reject", args=[link.pk]),
                                 {"tag": "asyncio", "next": "/?tag=x"})
    assert response.url == "/?tag=x" and state_of(link, "asyncio") == "rejected"


def test_an_unsafe_next_falls_back_to_the_link_page(alice_client, link):
    response = alice_client.post(reverse("link-suggestions-reject", args=[link.pk]),
                                 {"tag": "python", "next": "https://evil.example/"})
    assert response.url == reverse("link-detail", args=[link.pk])


def test_accepting_a_name_that_is_not_suggested_is_refused_with_the_reason(alice_client, link):
    url = reverse("link-suggestions-accept", args=[link.pk])
    response = alice_client.post(url, {"tag": "nope"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 400 and "Not suggested for this link: &#x27;nope&#x27;." in html
    assert 'role="alert"' in html and 'data-suggestion="python"' in html  # the panel, unchanged
    plain = alice_client.post(url, {"tag": "nope"}, follow=True)
    assert "Not suggested for this link: 'nope'." in page_messages(plain)
    empty = alice_client.post(url, {"tag": "  "}, follow=True)
    assert "Name at least one suggested tag." in page_messages(empty)
    assert not link.tags.exists() and state_of(link, "python") == "pending"


def test_other_peoples_links_and_suggestions_are_404(bob_client, link):
    assert bob_client.get(reverse("link-suggestions", args=[link.pk]), **HTMX).status_code == 286
    assert bob_client.get(reverse("link-suggestions", args=[link.pk])).status_code == 404
    for name in ("link-suggestions-accept", "link-suggestions-reject"):
        assert bob_client.post(reverse(name, args=[link.pk]), {"tag": "python"}, **HTMX).status_code == 404
        assert bob_client.post(reverse(name, args=[link.pk]), {"tag": "python"}).status_code == 404
    assert state_of(link, "python") == "pending" and not link.tags.exists()


def test_decisions_need_a_post_a_login_and_the_csrf_token(alice, link):
    url = reverse("link-suggestions-accept", args=[link.pk])
    assert Client().post(url, {"tag": "python"}).url.startswith(reverse("login"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(url).status_code == 405
    assert client.post(url, {"tag": "python"}, **HTMX).status_code == 403
    html = client.get(reverse("link-detail", args=[link.pk])).content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)  # what htmx sends from <body hx-headers>
    assert client.post(url, {"tag": "python"}, HTTP_X_CSRFTOKEN=token, **HTMX).status_code == 200
    assert state_of(link, "python") == "accepted"


def test_a_poll_after_logout_reloads_the_page(client, link):
    response = client.get(reverse("link-suggestions", args=[link.pk]), **HTMX)
    assert response.status_code == 204 and response.headers["HX-Refresh"] == "true"


def test_panel_keeps_asking_just_after_a_capture_until_its_analysis_is_queued(alice_client, alice):
    link = captured_link(alice)
    link.snapshots.update(finished_at=timezone.now())  # the analysis is queued after the capture commits
    assert "every 2s" in panel_html(detail(alice_client, link))
    link.snapshots.update(finished_at=timezone.now() - timedelta(minutes=5))  # none came: stop asking
    assert "every 2s" not in panel_html(detail(alice_client, link))


def test_panel_keeps_asking_after_a_recapture_until_the_new_analysis_is_queued(alice_client, alice):
    link = captured_link(alice)
    old = link.snapshots.get()
    new = Snapshot.objects.create(link=link, status=Snapshot.Status.DONE, finished_at=timezone.now())
    analysis = make_analysis(link, "done", snapshot=old)  # still the older capture's
    assert "every 2s" in panel_html(detail(alice_client, link))
    analysis.snapshot = new
    analysis.save()
    assert "every 2s" not in panel_html(detail(alice_client, link))
