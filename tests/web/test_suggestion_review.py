"""The review page: pending suggestions across links best first, filter, pages, bulk accept, auto-apply."""
import re

import pytest
from django.urls import reverse

from tagging.models import SuggestionSettings, Tag, TagSuggestion
from tagging.scoring.score import Scored
from tagging.suggestions import review
from tagging.suggestions import service as suggestions
from tests.factories import make_link, make_suggestion
from tests.web.conftest import page_messages

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
REVIEW = reverse("suggestion-review")


def items(response) -> list[tuple[str, str]]:
    """(tag name, link title) of the review items, in order."""
    html = response.content.decode()
    return re.findall(r'<span class="suggested-name">([^<]+)</span>.*?class="review-link"[^>]*>([^<]+)</a>', html, re.S)


@pytest.fixture
def backlog(alice):
    one = make_link(alice, "https://example.com/1", title="One")
    two = make_link(alice, "https://example.com/2", title="Two")
    make_suggestion(one, "python", 0.95, ["3 similar links are tagged python"])
    make_suggestion(two, "python", 0.55)
    make_suggestion(two, "django", 0.85)
    make_suggestion(one, "asyncio", 0.7, existing=False)
    make_suggestion(one, "decided", 0.99, state="rejected")
    return one, two


def test_review_lists_pending_suggestions_across_links_best_first(alice_client, backlog):
    response = alice_client.get(REVIEW)
    assert response.status_code == 200
    assert items(response) == [("python", "One"), ("django", "Two"), ("asyncio", "One"), ("python", "Two")]
    html = response.content.decode()
    assert "4 pending" in html and "95%" in html and "3 similar links are tagged python" in html
    assert 'src="/static/js/review.js"' in html and 'data-review-action="accept"' in html


def test_review_is_linked_from_the_navigation(alice_client, backlog):
    assert f'href="{REVIEW}"' in alice_client.get(reverse("link-list")).content.decode()


def test_filter_by_tag_in_any_case(alice_client, backlog):
    response = alice_client.get(REVIEW, {"tag": "PYTHON"})
    assert items(response) == [("python", "One"), ("python", "Two")]
    html = response.content.decode()
    assert '<option value="python" selected>python (2)</option>' in html and "django (1)" in html
    assert items(alice_client.get(REVIEW, {"tag": "unknown"})) == []
    assert "Nothing pending for “unknown”" in alice_client.get(REVIEW, {"tag": "unknown"}).content.decode()


def test_pages_follow_on_from_the_last_item_so_decisions_skip_nothing(alice_client, alice, backlog, monkeypatch):
    monkeypatch.setattr(review, "PAGE_SIZE", 2)
    first = alice_client.get(REVIEW)
    assert items(first) == [("python", "One"), ("django", "Two")]
    next_url = re.search(r'href="([^"]+)" rel="next"', first.content.decode()).group(1).replace("&amp;", "&")
    one, two = backlog
    suggestions.accept(one, ["python"])  # deciding on page one takes items out of the pending list
    suggestions.reject(two, ["django"])
    second = alice_client.get(next_url)
    assert items(second) == [("asyncio", "One"), ("python", "Two")]
    html = second.content.decode()
    assert 'rel="next"' not in html and f'href="{REVIEW}">← Best first</a>' in html


def test_a_bad_page_marker_starts_from_the_best(alice_client, backlog):
    assert items(alice_client.get(REVIEW, {"after": "nonsense"}))[0] == ("python", "One")


def test_deciding_an_item_with_htmx_keeps_it_in_place_marked(alice_client, backlog):
    one, _ = backlog
    response = alice_client.post(reverse("link-suggestions-accept", args=[one.pk]),
                                 {"tag": "python", "variant": "review"}, **HTMX)
    html = response.content.decode()
    assert html.strip().startswith('<li class="review-item is-decided"') and 'data-state="accepted"' in html
    assert "Accepted" in html and "data-review-action" not in html
    rejected = alice_client.post(reverse("link-suggestions-reject", args=[one.pk]),
                                 {"tag": "asyncio", "variant": "review"}, **HTMX).content.decode()
    assert 'data-state="rejected"' in rejected and "Rejected" in rejected
    assert items(alice_client.get(REVIEW)) == [("django", "Two"), ("python", "Two")]


def test_deciding_a_name_not_suggested_from_the_review_says_why(alice_client, backlog):
    one, _ = backlog
    response = alice_client.post(reverse("link-suggestions-accept", args=[one.pk]),
                                 {"tag": "nope", "variant": "review"}, **HTMX)
    assert response.status_code == 400 and "Not suggested for this link" in response.content.decode()


def test_without_javascript_review_decisions_come_back_to_the_review(alice_client, backlog):
    one, _ = backlog
    response = alice_client.post(reverse("link-suggestions-reject", args=[one.pk]),
                                 {"tag": "python", "variant": "review", "next": f"{REVIEW}?tag=python"})
    assert response.status_code == 302 and response.url == f"{REVIEW}?tag=python"
    assert items(alice_client.get(response.url)) == [("python", "Two")]


def test_bulk_accept_everything_above_a_score(alice_client, alice, backlog):
    one, two = backlog
    response = alice_client.post(reverse("suggestion-accept-above"), {"min_score": "70"}, follow=True)
    assert "Accepted 3 suggestions scoring 70% or more." in page_messages(response)
    assert items(response) == [("python", "Two")]
    assert sorted(one.tags.values_list("name", flat=True)) == ["asyncio", "python"]
    assert list(two.tags.values_list("name", flat=True)) == ["django"]
    assert Tag.objects.filter(user=alice, name="asyncio").exists()  # the proposed name became a tag
    assert TagSuggestion.objects.get(link=one, name="decided").state == "rejected"  # decided ones stay


def test_bulk_accept_keeps_to_the_filtered_tag(alice_client, backlog):
    one, two = backlog
    response = alice_client.post(reverse("suggestion-accept-above"), {"min_score": "50", "tag": "python"})
    assert response.url == f"{REVIEW}?tag=python"
    assert list(two.tags.values_list("name", flat=True)) == ["python"]
    assert TagSuggestion.objects.get(link=two, name="django").state == "pending"


def test_bulk_accept_with_nothing_above_changes_nothing(alice_client, backlog):
    response = alice_client.post(reverse("suggestion-accept-above"), {"min_score": "100"}, follow=True)
    assert "No pending suggestion scores 100% or more; nothing changed." in page_messages(response)
    assert TagSuggestion.objects.filter(state="accepted").count() == 0


@pytest.mark.parametrize("value, message", [("", "Give the lowest score to accept, 0 to 100 percent."),
                                            ("101", "Use a whole number of percent from 0 to 100."),
                                            ("abc", "Use a whole number of percent from 0 to 100.")])
def test_bulk_accept_refuses_a_bad_score(alice_client, backlog, value, message):
    response = alice_client.post(reverse("suggestion-accept-above"), {"min_score": value}, follow=True)
    assert message in page_messages(response) and TagSuggestion.objects.filter(state="accepted").count() == 0


def test_bulk_accept_shows_in_cached_list_rows_at_once(alice_client, backlog):
    one, _ = backlog
    row = lambda: alice_client.get(reverse("link-list")).content.decode()  # noqa: E731
    assert 'value="python"' in row()
    alice_client.post(reverse("suggestion-accept-above"), {"min_score": "90"})
    html = row()
    start = html.index(f'data-link-id="{one.pk}"')
    assert '<a class="chip" href="/?tag=python">python</a>' in html[start:start + 4000]


def test_accept_above_service_refuses_scores_outside_0_to_1(alice):
    with pytest.raises(Exception, match="between 0 and 1"):
        suggestions.accept_above(alice, 1.5)


def test_other_peoples_suggestions_are_invisible_and_untouched(bob_client, bob, backlog):
    assert items(bob_client.get(REVIEW)) == [] and "0 pending" in bob_client.get(REVIEW).content.decode()
    bob_client.post(reverse("suggestion-accept-above"), {"min_score": "0"})
    assert TagSuggestion.objects.filter(state="accepted").count() == 0
    assert not Tag.objects.filter(user=bob).exists()


def test_review_needs_a_login(client):
    assert client.get(REVIEW).url.startswith(reverse("login"))
    assert client.post(reverse("suggestion-accept-above"), {"min_score": "0"}).url.startswith(reverse("login"))


# Auto-apply threshold, off by default.

def test_auto_apply_is_off_by_default_and_can_be_set_and_turned_off(alice_client, alice):
    html = alice_client.get(REVIEW).content.decode()
    assert 'data-auto-apply="off"' in html and "Now off" in html
    response = alice_client.post(reverse("suggestion-auto-apply"), {"auto_apply": "90"}, follow=True)
    assert "scoring 90% or more are now applied automatically" in " ".join(page_messages(response))
    assert SuggestionSettings.objects.get(user=alice).auto_apply_above == 0.9
    assert 'data-auto-apply="90"' in response.content.decode() and 'value="90"' in response.content.decode()
    response = alice_client.post(reverse("suggestion-auto-apply"), {"auto_apply": ""}, follow=True)
    assert "no longer applied automatically" in " ".join(page_messages(response))
    assert SuggestionSettings.objects.get(user=alice).auto_apply_above is None


def test_auto_apply_threshold_applies_to_new_suggestions(alice_client, alice):
    link = make_link(alice, "https://example.com/auto", tags=["python"])
    link.tags.clear()
    alice_client.post(reverse("suggestion-auto-apply"), {"auto_apply": "80"})
    python = Tag.objects.get(user=alice, name="python")
    suggestions.store(link, [Scored(tag_id=python.pk, name="python", score=0.85, reasons=[])],
                      suggestions.auto_apply_threshold(alice.pk))
    assert list(link.tags.values_list("name", flat=True)) == ["python"]


@pytest.mark.parametrize("value", ["0", "150", "x"])
def test_auto_apply_refuses_a_bad_threshold(alice_client, alice, value):
    response = alice_client.post(reverse("suggestion-auto-apply"), {"auto_apply": value}, follow=True)
    assert page_messages(response) == ["Use a whole number of percent from 1 to 100, or leave it empty to turn it off."]
    assert not SuggestionSettings.objects.filter(user=alice).exists()
