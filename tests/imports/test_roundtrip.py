"""Export then import into a fresh account keeps every field the format holds."""
import json
from datetime import datetime, timezone as tz

import pytest

from imports import export
from snapshots.models import Link
from tests.factories import make_link, make_user

pytestmark = pytest.mark.django_db


def fill(alice) -> None:
    a = make_link(alice, "https://example.com/a", tags=["Python", "web dev"], title="A & <b>",
                  description="Line one\nline two & <more>", notes="my notes\n\n- point")
    b = make_link(alice, "https://example.com/b?x=1&y=2", title="B")
    Link.objects.filter(pk=a.pk).update(unread=True, created_at=datetime(2019, 5, 1, 10, 0, 0, tzinfo=tz.utc),
                                        updated_at=datetime(2020, 1, 2, 3, 4, 5, tzinfo=tz.utc))
    Link.objects.filter(pk=b.pk).update(archived=True, created_at=datetime(2018, 1, 1, 0, 0, 0, 123456, tzinfo=tz.utc),
                                        updated_at=datetime(2018, 1, 1, 0, 0, 1, tzinfo=tz.utc))


def fields(user, exact_dates: bool) -> list[tuple]:
    rows = []
    for link in Link.objects.filter(user=user).prefetch_related("tags").order_by("url"):
        dates = (link.created_at, link.updated_at) if exact_dates else (
            int(link.created_at.timestamp()), int(link.updated_at.timestamp()))
        rows.append((link.url, link.title, link.description, link.notes, sorted(t.name for t in link.tags.all()),
                     link.unread, link.archived, *dates))
    return rows


@pytest.mark.parametrize("kind, name, exact", [("html", "b.html", False), ("json", "b.json", True)])
def test_export_then_import_round_trips(alice, import_file, kind, name, exact):
    fill(alice)
    write = export.netscape_html if kind == "html" else export.linkshot_json
    data = "".join(write(alice)).encode()
    fresh = make_user("fresh")
    job = import_file(fresh, data, name=name)
    assert (job.status, job.imported, job.skipped, job.error) == ("done", 2, 0, "")
    assert fields(fresh, exact) == fields(alice, exact)


def test_json_export_carries_snapshot_metadata(alice):
    link = make_link(alice, "https://example.com/s")
    link.snapshots.update(status="done", final_url="https://example.com/s/", http_status=200, title="Page",
                          content_type="text/html")
    body = json.loads("".join(export.linkshot_json(alice)))
    assert body["format"] == "linkshot-links" and body["version"] == 1
    [entry] = body["links"]
    assert entry["snapshot"]["final_url"] == "https://example.com/s/" and entry["snapshot"]["http_status"] == 200


def test_export_holds_only_the_owners_links(alice, bob):
    make_link(alice, "https://example.com/alice")
    make_link(bob, "https://example.com/bob")
    text = "".join(export.netscape_html(alice))
    assert "example.com/alice" in text and "example.com/bob" not in text


def test_export_queries_do_not_grow_with_links(alice, django_assert_max_num_queries):
    for i in range(40):
        make_link(alice, f"https://example.com/{i}", tags=["t"])
    with django_assert_max_num_queries(8):
        body = json.loads("".join(export.linkshot_json(alice)))
    assert len(body["links"]) == 40 and body["links"][0]["snapshot"]["status"] == "pending"
