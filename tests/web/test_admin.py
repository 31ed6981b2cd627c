"""The admin pages for links, tags and snapshots list everyone's rows, search, filter and run their actions."""
import pytest
from django.urls import reverse

from snapshots.models import Link, Snapshot
from tagging.models import Tag
from tests.factories import make_link, make_user


@pytest.fixture
def admin_client(client, db):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def saved(alice, bob):
    link = make_link(alice, "https://example.com/django", tags=["python", "web"], title="Django docs")
    make_link(bob, "https://example.com/rust", tags=["rust"], title="Rust book")
    failed = link.snapshots.get()
    Snapshot.objects.filter(pk=failed.pk).update(status=Snapshot.Status.FAILED, error="Timed out", attempts=3)
    return link


def _action(admin_client, model: str, action: str, ids: list[int]):
    return admin_client.post(reverse(f"admin:{model}_changelist"),
                             {"action": action, "_selected_action": ids}, follow=True)


def result_rows(html: str) -> list[str]:
    """The rows of a changelist's result table."""
    table = html.split('id="result_list"')[1].split("</table>")[0]
    return table.split("<tbody>")[1].split("<tr")[1:]


@pytest.mark.parametrize("model, shown", [
    ("snapshots_link", ["Django docs", "Rust book"]),
    ("snapshots_snapshot", ["Django docs", "Rust book"]),
    ("tagging_tag", ["python", "rust", "web"]),
])
def test_changelists_list_everyones_rows(admin_client, saved, model, shown):
    answer = admin_client.get(reverse(f"admin:{model}_changelist"))
    rows = result_rows(answer.content.decode())
    assert len(rows) == len(shown)
    for text in shown:
        assert sum(text in row for row in rows) == 1, text


def test_link_changelist_shows_tags_and_snapshot_status(admin_client, saved):
    html = admin_client.get(reverse("admin:snapshots_link_changelist")).content.decode()
    rows = html.split('id="result_list"')[1]
    assert "python, web" in rows and '<td class="field-snapshot_status">failed</td>' in rows
    assert '<td class="field-snapshot_status">pending</td>' in rows


@pytest.mark.parametrize("model,query,present,absent", [
    ("snapshots_link", "django", "Django docs", "Rust book"),
    ("snapshots_link", "rust", "Rust book", "Django docs"),
    ("snapshots_snapshot", "Timed out", "Timed out", "Rust book"),
    ("tagging_tag", "pyth", "python", "rust"),
])
def test_changelist_search(admin_client, saved, model, query, present, absent):
    html = admin_client.get(reverse(f"admin:{model}_changelist"), {"q": query}).content.decode()
    result_table = html.split('id="result_list"')[1]
    assert present in result_table and absent not in result_table


def test_filters(admin_client, saved, alice):
    html = admin_client.get(reverse("admin:snapshots_snapshot_changelist"),
                            {"status__exact": "failed", "user": str(alice.pk)}).content.decode()
    assert "Timed out" in html
    archived = admin_client.get(reverse("admin:snapshots_link_changelist"), {"archived__exact": "1"})
    assert "Django docs" not in archived.content.decode().split('id="changelist"')[1]


def test_tag_counts_and_ordering_by_count(admin_client, saved, alice):
    make_link(alice, "https://example.com/more", tags=["python"])
    url = reverse("admin:tagging_tag_changelist")
    html = admin_client.get(url, {"o": "-3"}).content.decode()
    rows = html.split('id="result_list"')[1]
    assert rows.index(">python<") < rows.index(">web<")
    assert '<td class="field-link_count">2</td>' in rows


@pytest.mark.parametrize("model, shown", [
    ("snapshots_link", ['name="url" value="https://example.com/django"', 'name="title" value="Django docs"',
                        "Timed out"]),  # the snapshot inline shows the failed capture
    ("snapshots_snapshot", ["Timed out", "failed"]),
    ("tagging_tag", ['name="name" value="python"']),
])
def test_change_pages_show_the_stored_values(admin_client, saved, model, shown):
    obj = {"snapshots_link": saved, "snapshots_snapshot": saved.snapshots.get(),
           "tagging_tag": Tag.objects.get(name="python")}[model]
    html = admin_client.get(reverse(f"admin:{model}_change", args=[obj.pk])).content.decode()
    for text in shown:
        assert text in html, text


def test_archive_and_unarchive_actions(admin_client, saved):
    _action(admin_client, "snapshots_link", "archive", [saved.pk])
    assert Link.objects.get(pk=saved.pk).archived is True
    assert Link.objects.get(title="Rust book").archived is False
    _action(admin_client, "snapshots_link", "unarchive", [saved.pk])
    assert Link.objects.get(pk=saved.pk).archived is False


def test_recapture_action_adds_a_snapshot_and_keeps_history(admin_client, saved):
    answer = _action(admin_client, "snapshots_link", "recapture", [saved.pk])
    assert "Queued a new capture of 1 link" in answer.content.decode()
    statuses = sorted(saved.snapshots.values_list("status", flat=True))
    assert statuses == ["failed", "pending"]


def test_retry_failed_queues_once_and_ignores_other_statuses(admin_client, saved):
    failed = saved.snapshots.get()
    pending_elsewhere = Link.objects.get(title="Rust book").snapshots.get()
    _action(admin_client, "snapshots_snapshot", "retry_failed", [failed.pk, pending_elsewhere.pk])
    assert saved.snapshots.count() == 2
    assert Link.objects.get(title="Rust book").snapshots.count() == 1
    # A second retry while the new capture is pending queues nothing more.
    _action(admin_client, "snapshots_snapshot", "retry_failed", [failed.pk])
    assert saved.snapshots.count() == 2


def test_link_form_normalises_url_and_refuses_bad_ones(admin_client, saved, alice):
    url = reverse("admin:snapshots_link_change", args=[saved.pk])
    form = {"user": alice.pk, "url": "javascript:alert(1)", "title": "Changed", "tags": [],
            "snapshots-TOTAL_FORMS": 1, "snapshots-INITIAL_FORMS": 1, "snapshots-MIN_NUM_FORMS": 0,
            "snapshots-MAX_NUM_FORMS": 1000, "snapshots-0-id": saved.snapshots.get().pk, "snapshots-0-link": saved.pk}
    answer = admin_client.post(url, form)
    assert answer.status_code == 200 and "Only http and https" in answer.content.decode()
    assert Link.objects.get(pk=saved.pk).title == "Django docs"
    admin_client.post(url, form | {"url": "HTTPS://Example.com/New?utm_source=x"})
    assert Link.objects.get(pk=saved.pk).url == "https://example.com/New"


def test_link_form_refuses_another_users_tag(admin_client, saved, alice):
    url = reverse("admin:snapshots_link_change", args=[saved.pk])
    form = {"user": alice.pk, "url": saved.url, "title": "x", "tags": [Tag.objects.get(name="rust").pk],
            "snapshots-TOTAL_FORMS": 0, "snapshots-INITIAL_FORMS": 0}
    answer = admin_client.post(url, form)
    assert "tags of its own user" in answer.content.decode()
    assert [tag.name for tag in Link.objects.get(pk=saved.pk).tags.all()] == ["python", "web"]


def test_tag_form_refuses_clash_and_bad_names(admin_client, saved, alice):
    web = Tag.objects.get(name="web")
    url = reverse("admin:tagging_tag_change", args=[web.pk])
    assert "already has a tag" in admin_client.post(url, {"user": alice.pk, "name": "PYTHON"}).content.decode()
    assert "comma" in admin_client.post(url, {"user": alice.pk, "name": "a,b"}).content.decode()
    assert Tag.objects.get(pk=web.pk).name == "web"
    admin_client.post(url, {"user": alice.pk, "name": "  Web   dev "})
    assert Tag.objects.get(pk=web.pk).name == "Web dev"


def test_admin_needs_staff(alice_client):
    answer = alice_client.get(reverse("admin:snapshots_link_changelist"))
    assert answer.status_code == 302 and "/admin/login/" in answer["Location"]
