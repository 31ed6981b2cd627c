"""Bad files and bad entries: a report of what was skipped and why; valid entries in; nothing else touched."""
import json

import pytest
from django.core.exceptions import ValidationError

from imports import services
from snapshots.models import Link
from tests.factories import make_link
from tests.imports.conftest import upload
from tests.imports.files import HEAD, anchor, netscape

pytestmark = pytest.mark.django_db


def reasons(job) -> dict[int, str]:
    return {issue.position: issue.reason for issue in job.issues.filter(skipped=True)}


def test_invalid_private_and_duplicate_entries_are_skipped_with_reasons(alice, import_file):
    data = netscape(
        anchor("https://good.example/1"),
        anchor("javascript:alert(1)"),
        anchor("not a url"),
        anchor("http://127.0.0.1:8000/admin/"),
        anchor("http://169.254.169.254/latest/meta-data/"),
        anchor("http://[::1]/"),
        anchor("http://localhost/"),
        anchor("https://good.example/1?utm_source=x"),
        anchor("ftp://files.example/x"),
        anchor("https://good.example/2"),
    )
    job = import_file(alice, data)
    assert (job.status, job.total, job.imported, job.skipped) == ("done", 10, 2, 8)
    got = reasons(job)
    assert got[2].startswith("Not a valid URL: Only http and https links can be saved")
    assert got[3].startswith("Not a valid URL")
    for position in (4, 5, 6, 7):
        assert got[position].startswith("This address cannot be captured"), got[position]
    assert "metadata" in got[5] or "link-local" in got[5]
    assert got[8] == "Same URL as entry 1 of this file."
    assert sorted(Link.objects.values_list("url", flat=True)) == ["https://good.example/1", "https://good.example/2"]


def test_bad_tag_names_are_dropped_and_noted_but_the_link_is_kept(alice, import_file):
    job = import_file(alice, netscape(anchor("https://example.com/", tags="ok," + "x" * 80)))
    link = Link.objects.get()
    assert [t.name for t in link.tags.all()] == ["ok"]
    [note] = job.issues.filter(skipped=False)
    assert "Tag dropped" in note.reason and "longer than 64" in note.reason


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"),
    (b"url,title\nhttps://example.com,Example\n", "neither a Netscape bookmark HTML file nor"),
])
def test_files_that_are_not_bookmark_files_are_refused_at_upload(alice, data, message):
    make_link(alice, "https://example.com/kept")
    with pytest.raises(ValidationError) as caught:
        services.start_import(alice, upload(data))
    assert message in caught.value.message_dict["file"][0]
    assert alice.import_jobs.count() == 0 and Link.objects.count() == 1


def test_html_without_bookmarks_fails_with_the_reason(alice, import_file):
    job = import_file(alice, b"<html><body><p>Just a page</p></body></html>")
    assert job.status == "failed" and "No bookmarks found" in job.error
    assert Link.objects.count() == 0


def test_a_truncated_file_keeps_the_entries_before_the_cut(alice, import_file):
    data = netscape(anchor("https://example.com/1"), anchor("https://example.com/2"), anchor("https://example.com/3"))
    job = import_file(alice, data[: data.index(b"https://example.com/3") + 4])
    assert job.status == "done" and "ends in the middle" in job.error
    assert sorted(Link.objects.values_list("url", flat=True)) == ["https://example.com/1", "https://example.com/2"]


def test_deep_nesting_imports_the_entries(alice, import_file):
    depth = 10_000
    data = (HEAD + "<DT><H3>f</H3><DL><p>\n" * depth + anchor("https://example.com/deep")
            + "</DL><p>\n" * depth).encode()
    job = import_file(alice, data, folders_as_tags=True)
    assert job.imported == 1
    assert [t.name for t in Link.objects.get().tags.all()] == ["f"]  # 32 levels of one name: one tag
    assert "nest deeper" in job.issues.get().reason


def test_a_file_over_the_size_limit_is_refused_with_the_sizes(alice, settings):
    settings.LINKSHOT_IMPORT_MAX_BYTES = 40 * 1024 * 1024
    data = netscape(*(anchor(f"https://example.com/{i}", "t" * 400) for i in range(110_000)))
    assert len(data) > 50_000_000
    with pytest.raises(ValidationError) as caught:
        services.start_import(alice, upload(data))
    assert "imports take files up to 42 MB" in caught.value.message_dict["file"][0]


def test_broken_json_keeps_the_links_before_the_break(alice, import_file):
    good = {"url": "https://example.com/1", "title": "One"}
    data = ('{"format": "linkshot-links", "version": 1, "links": [' + json.dumps(good) + ', {"url": "https://exa').encode()
    job = import_file(alice, data, name="links.json")
    assert job.status == "done" and "ends early or is malformed after link 1" in job.error
    assert list(Link.objects.values_list("url", flat=True)) == ["https://example.com/1"]


def test_json_entries_of_the_wrong_shape_are_skipped(alice, import_file):
    data = json.dumps({"links": [{"url": "https://example.com/ok", "tags": ["a", 3]}, "nope", {"title": "no url"}]})
    job = import_file(alice, data.encode(), name="links.json")
    assert (job.imported, job.skipped) == (1, 2)
    assert [t.name for t in Link.objects.get().tags.all()] == ["a"]
