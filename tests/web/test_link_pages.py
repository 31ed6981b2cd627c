import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from snapshots.models import Link, Snapshot
from snapshots.web.listing import PAGE_SIZE
from tests.factories import make_link
from tests.web.conftest import listed_link_ids, page_messages

pytestmark = pytest.mark.django_db


def tag_names(link):
    return sorted(link.tags.values_list("name", flat=True))


def test_pages_need_login(client):
    for url in (reverse("link-list"), reverse("link-add"), reverse("tag-list")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_list_shows_newest_first_with_tag_chips(alice_client, alice):
    make_link(alice, "https://example.com/old", title="Old one", tags=["Python"])
    make_link(alice, "https://example.com/new", title="New one", tags=["web"])
    response = alice_client.get(reverse("link-list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("New one") < html.index("Old one")
    assert 'class="chip" href="/?tag=Python"' in html


def test_empty_list_invites_first_link(alice_client):
    response = alice_client.get(reverse("link-list"))
    assert "No links saved yet" in response.content.decode()
    assert reverse("link-add") in response.content.decode()


def test_list_filters_by_several_tags(alice_client, alice):
    make_link(alice, "https://example.com/both", title="Both tags", tags=["a", "b"])
    make_link(alice, "https://example.com/one", title="Only a", tags=["a"])
    html = alice_client.get(reverse("link-list"), {"tag": ["A", "b"]}).content.decode()
    assert "Both tags" in html and "Only a" not in html


def test_unknown_tag_filter_shows_no_match_state(alice_client, alice):
    make_link(alice, "https://example.com/x", title="Marked link", tags=["a"])
    html = alice_client.get(reverse("link-list"), {"tag": "nope"}).content.decode()
    assert "No links match" in html and "Marked link" not in html


def test_search_box_uses_search_syntax(alice_client, alice):
    make_link(alice, "https://example.com/1", title="Django tips", tags=["python"])
    make_link(alice, "https://example.com/2", title="Django news", tags=["web"])
    make_link(alice, "https://example.com/3", title="Flask tips", tags=["python"])
    html = alice_client.get(reverse("link-list"), {"q": "django -news"}).content.decode()
    assert "Django tips" in html and "Django news" not in html and "Flask tips" not in html
    html = alice_client.get(reverse("link-list"), {"q": "tips #python"}).content.decode()
    assert "Django tips" in html and "Flask tips" in html and "Django news" not in html


def test_archived_links_have_their_own_tab(alice_client, alice):
    make_link(alice, "https://example.com/kept", title="Still active")
    archived = make_link(alice, "https://example.com/arch", title="Put away")
    Link.objects.filter(pk=archived.pk).update(archived=True)
    assert "Put away" not in alice_client.get(reverse("link-list")).content.decode()
    html = alice_client.get(reverse("link-list"), {"show": "archived"}).content.decode()
    assert "Put away" in html and "Still active" not in html
    html = alice_client.get(reverse("link-list"), {"show": "all"}).content.decode()
    assert "Put away" in html and "Still active" in html


def test_unread_tab_and_flag(alice_client, alice):
    make_link(alice, "https://example.com/read", title="Read it")
    unread = make_link(alice, "https://example.com/unread", title="Later")
    Link.objects.filter(pk=unread.pk).update(unread=True)
    html = alice_client.get(reverse("link-list"), {"show": "unread"}).content.decode()
    assert "Later" in html and "Read it" not in html
    assert 'class="flag flag-unread"' in html


def test_pagination_without_counting(alice_client, alice, django_assert_max_num_queries):
    total = PAGE_SIZE * 2 + 7
    Link.objects.bulk_create([Link(user=alice, url=f"https://example.com/{n}", title=f"Item {n:03d}")
                              for n in range(total)])
    with django_assert_max_num_queries(8):
        first = alice_client.get(reverse("link-list"))
    assert len(listed_link_ids(first)) == PAGE_SIZE and first.context["page"].has_next
    assert 'rel="next"' in first.content.decode() and 'rel="prev"' not in first.content.decode()
    third = alice_client.get(reverse("link-list"), {"page": 3})
    assert len(listed_link_ids(third)) == 7 and not third.context["page"].has_next
    assert 'href="/?page=2"' in third.content.decode() and 'rel="next"' not in third.content.decode()
    seen = [pk for page in (1, 2, 3)
            for pk in listed_link_ids(alice_client.get(reverse("link-list"), {"page": page}))]
    assert len(set(seen)) == len(seen) == total


def test_pagination_keeps_filters(alice_client, alice):
    for n in range(PAGE_SIZE + 1):
        make_link(alice, f"https://example.com/{n}", tags=["t"])
    html = alice_client.get(reverse("link-list"), {"tag": "t", "q": "example"}).content.decode()
    assert 'href="/?tag=t&amp;q=example&amp;page=2"' in html


def test_list_runs_no_count_query(alice_client, alice):
    make_link(alice, "https://example.com/1", tags=["t"])
    with CaptureQueriesContext(connection) as captured:
        alice_client.get(reverse("link-list"))
    assert not any("COUNT(" in query["sql"].upper() for query in captured.captured_queries)


def test_bad_page_numbers_fall_back(alice_client, alice):
    make_link(alice, "https://example.com/1", title="Only")
    assert "Only" in alice_client.get(reverse("link-list"), {"page": "abc"}).content.decode()
    html = alice_client.get(reverse("link-list"), {"page": 99}).content.decode()
    assert "No links on this page" in html
    huge = alice_client.get(reverse("link-list"), {"page": "9" * 40})
    assert huge.status_code == 200 and "No links on this page" in huge.content.decode()


def test_add_link_with_tags(alice_client, alice):
    response = alice_client.post(reverse("link-add"), {
        "url": "HTTPS://Example.com/article?utm_source=x", "title": "", "description": "d",
        "notes": "n", "tags": "Python,  web dev ,python",
    })
    assert response.status_code == 302 and response["Location"] == reverse("link-list")
    link = Link.objects.get(user=alice)
    assert link.url == "https://example.com/article"
    assert tag_names(link) == ["Python", "web dev"]
    assert link.snapshots.get().status == Snapshot.Status.PENDING


def test_add_form_prefills_from_query(alice_client):
    html = alice_client.get(reverse("link-add"), {"url": "https://example.com/x", "title": "X"}).content.decode()
    assert 'value="https://example.com/x"' in html and 'value="X"' in html


def test_adding_saved_url_merges_tags_and_shows_existing(alice_client, alice):
    link = make_link(alice, "https://example.com/a", title="Kept", tags=["one"])
    response = alice_client.post(reverse("link-add"), {"url": "https://example.com/a#x", "tags": "two"},
                                 follow=True)
    assert response.redirect_chain[-1][0] == reverse("link-detail", kwargs={"pk": link.pk})
    assert "already saved — tags merged" in " ".join(page_messages(response))
    assert tag_names(link) == ["one", "two"]
    assert Link.objects.filter(user=alice).count() == 1


@pytest.mark.parametrize("url, message", [
    ("not-a-url", "starting with http:// or https://"),
    ("not a url", "is not a web address"),
    ("javascript:alert(1)", "Only http and https"),
    ("file:///etc/passwd", "Only http and https"),
    ("data:text/html,hi", "Only http and https"),
    ("https://exa mple.com/", "spaces"),
    ("https://example.com/" + "a" * 2100, "at most 2048 characters"),
    ("", "This field is required"),
])
def test_add_refuses_bad_urls(alice_client, alice, url, message):
    response = alice_client.post(reverse("link-add"), {"url": url, "tags": "keep"})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["url"])
    assert message.replace('"', "&quot;") in response.content.decode() or message in response.content.decode()
    assert not Link.objects.exists()
    assert not alice.tags.exists()


@pytest.mark.parametrize("tags, message", [
    ("ok, bad" + "x" * 70, "longer than 64 characters"),
])
def test_add_refuses_bad_tag_names(alice_client, alice, tags, message):
    response = alice_client.post(reverse("link-add"), {"url": "https://example.com/", "tags": tags})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["tags"])
    assert not Link.objects.exists() and not alice.tags.exists()


def test_detail_shows_link_and_snapshot_history(alice_client, alice):
    link = make_link(alice, "https://example.com/a", title="Reading", tags=["t"], notes="my note")
    Snapshot.objects.create(link=link, status=Snapshot.Status.FAILED, error="Timed out after 30 s")
    html = alice_client.get(reverse("link-detail", kwargs={"pk": link.pk})).content.decode()
    assert "Reading" in html and "my note" in html and "Timed out after 30 s" in html
    assert "History (2)" in html
    assert reverse("link-recapture", kwargs={"pk": link.pk}) in html
    assert ">Retry</button>" in html


def test_detail_shows_readable_text_of_newest_complete_snapshot(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    Snapshot.objects.filter(link=link).update(status=Snapshot.Status.DONE, text="Old words")
    Snapshot.objects.create(link=link, status=Snapshot.Status.DONE, text="Fresh words")
    Snapshot.objects.create(link=link, status=Snapshot.Status.RUNNING)
    html = alice_client.get(reverse("link-detail", kwargs={"pk": link.pk})).content.decode()
    assert "Fresh words" in html and "Old words" not in html
    assert "Capturing the page" in html
    assert 'hx-trigger="every 2s"' in html


def test_edit_link(alice_client, alice):
    link = make_link(alice, "https://example.com/a", title="Before", tags=["old"])
    response = alice_client.post(reverse("link-edit", kwargs={"pk": link.pk}), {
        "url": "https://example.com/b", "title": "After", "description": "", "notes": "",
        "tags": "new, other", "unread": "on",
    })
    assert response.status_code == 302
    link.refresh_from_db()
    assert (link.url, link.title, link.unread, link.archived) == ("https://example.com/b", "After", True, False)
    assert tag_names(link) == ["new", "other"]


def test_edit_form_shows_current_values(alice_client, alice):
    link = make_link(alice, "https://example.com/a", title="Before", tags=["x", "y"])
    html = alice_client.get(reverse("link-edit", kwargs={"pk": link.pk})).content.decode()
    assert 'value="x, y"' in html and 'value="Before"' in html


def test_edit_refuses_bad_input_and_keeps_link(alice_client, alice):
    link = make_link(alice, "https://example.com/a", title="Before", tags=["old"])
    make_link(alice, "https://example.com/taken")
    for data, field in (({"url": "javascript:x", "tags": "t"}, "url"),
                        ({"url": "https://example.com/a", "tags": "a" * 65}, "tags"),
                        ({"url": "https://example.com/taken", "tags": "t"}, "url")):
        response = alice_client.post(reverse("link-edit", kwargs={"pk": link.pk}), {"title": "Changed", **data})
        assert response.status_code == 200 and field in response.context["form"].errors
    link.refresh_from_db()
    assert (link.url, link.title, tag_names(link)) == ("https://example.com/a", "Before", ["old"])


def test_delete_asks_then_deletes(alice_client, alice):
    link = make_link(alice, "https://example.com/a", title="Doomed")
    url = reverse("link-delete", kwargs={"pk": link.pk})
    page = alice_client.get(url)
    assert "Delete this link?" in page.content.decode() and Link.objects.filter(pk=link.pk).exists()
    response = alice_client.post(url)
    assert response.status_code == 302 and not Link.objects.filter(pk=link.pk).exists()


def test_recapture_adds_snapshot_and_keeps_history(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    Snapshot.objects.filter(link=link).update(status=Snapshot.Status.FAILED, error="boom")
    response = alice_client.post(reverse("link-recapture", kwargs={"pk": link.pk}))
    assert response["Location"] == reverse("link-detail", kwargs={"pk": link.pk})
    assert list(link.snapshots.values_list("status", flat=True)) == ["pending", "failed"]


def test_recapture_while_capturing_adds_nothing(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    response = alice_client.post(reverse("link-recapture", kwargs={"pk": link.pk}), follow=True)
    assert "already under way" in " ".join(page_messages(response))
    assert link.snapshots.count() == 1


def test_recapture_needs_post(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    assert alice_client.get(reverse("link-recapture", kwargs={"pk": link.pk})).status_code == 405


def test_detail_quick_actions_archive_and_mark_read(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    Link.objects.filter(pk=link.pk).update(unread=True)
    detail = reverse("link-detail", kwargs={"pk": link.pk})
    html = alice_client.get(detail).content.decode()
    assert 'value="mark_read"' in html and 'value="archive"' in html
    response = alice_client.post(reverse("link-bulk"), {"ids": [link.pk], "action": "archive", "next": detail})
    assert response["Location"] == detail
    alice_client.post(reverse("link-bulk"), {"ids": [link.pk], "action": "mark_read", "next": detail})
    link.refresh_from_db()
    assert link.archived and not link.unread
    assert 'value="unarchive"' in alice_client.get(detail).content.decode()


def test_tag_filter_same_result_for_rare_and_common_tags(alice_client, alice, monkeypatch):
    make_link(alice, "https://example.com/1", title="First both", tags=["rare", "common"])
    make_link(alice, "https://example.com/2", title="Second common", tags=["common"])
    make_link(alice, "https://example.com/3", title="Third both", tags=["Rare", "common"])
    expected = ["Third both", "First both"]
    for threshold in (0, 1000):  # 0: every tag counts as common; 1000: every tag counts as rare
        monkeypatch.setattr("snapshots.links.queries.RARE_TAG_LINKS", threshold)
        shown = listed_link_ids(alice_client.get(reverse("link-list"), {"tag": ["common", "RARE"]}))
        assert [Link.objects.get(pk=pk).title for pk in shown] == expected


def test_bookmarklet_for_a_saved_url_says_so_links_to_it_and_prefills(alice_client, alice):
    link = make_link(alice, "https://example.com/saved", title="Saved title", tags=["kept"])
    response = alice_client.get(reverse("link-add") + "?url=https://example.com/saved?utm_source=x")
    html = response.content.decode()
    assert "You already saved this URL" in html
    assert f'href="{reverse("link-detail", kwargs={"pk": link.pk})}"' in html
    form = response.context["form"]
    assert form["title"].value() == "Saved title" and "kept" in form["tags"].value()


def test_bookmarklet_for_a_new_url_opens_a_plain_form(alice_client, alice):
    response = alice_client.get(reverse("link-add") + "?url=https://example.com/new&title=T")
    assert "You already saved" not in response.content.decode()
    assert response.context["form"]["title"].value() == "T"


def test_thumbnail_placeholder_letter_comes_from_the_host_not_the_scheme(alice_client, alice):
    untitled = make_link(alice, "https://www.wikipedia.org/wiki/Linkshot")
    Snapshot.objects.filter(link=untitled).delete()
    html = alice_client.get(reverse("link-list")).content.decode()
    slot = html.split(f'id="status-{untitled.pk}"', 1)[1].split("</a>", 1)[0]
    assert '<span class="thumb-empty">W</span>' in slot
