"""The streaming Netscape reader: fields, folders, odd files, and memory that does not grow."""
import io
from datetime import datetime, timezone

import pytest

from imports.parsing import netscape
from imports.parsing.entries import BadFile
from tests.imports.files import HEAD, anchor, netscape as make_file

pytestmark = pytest.mark.no_postgres


def read(data: bytes, chunk: int = 7) -> list:
    # Tiny chunks: every tag and attribute gets split across feeds somewhere.
    return list(netscape.read_entries(io.BytesIO(data), chunk_bytes=chunk))


def test_fields_of_a_browser_entry():
    data = make_file(anchor("https://example.com/a", "A &amp; B", tags="python,web", add_date=1600000000,
                            description="About <things>", toread=True))
    [entry] = read(data)
    assert entry.url == "https://example.com/a"
    assert entry.title == "A &amp; B"
    assert entry.tags == ["python", "web"]
    assert entry.added == datetime(2020, 9, 13, 12, 26, 40, tzinfo=timezone.utc)
    assert entry.description == "About <things>"
    assert entry.unread is True
    assert entry.position == 1


def test_folders_are_recorded_outermost_first():
    data = (HEAD + "<DL><p>\n<DT><H3>Work</H3>\n<DL><p>\n<DT><H3>Docs</H3>\n<DL><p>\n"
            + anchor("https://example.com/deep") + "</DL><p>\n" + anchor("https://example.com/work")
            + "</DL><p>\n" + anchor("https://example.com/top") + "</DL><p>\n").encode()
    entries = read(data)
    assert [(e.url.rsplit("/", 1)[1], e.folders) for e in entries] == [
        ("deep", ["Work", "Docs"]), ("work", ["Work"]), ("top", [])]


def test_linkding_notes_and_archive_tag():
    data = (HEAD + '<DL><p>\n<DT><A HREF="https://example.com/" TAGS="a,linkding:bookmarks.archived">T</A>\n'
            "<DD>Desc[linkding-notes]line one\nline two[/linkding-notes]\n</DL><p>\n").encode()
    [entry] = read(data)
    assert entry.tags == ["a"] and entry.archived is True
    assert entry.description == "Desc" and entry.notes == "line one\nline two"


def test_pocket_list_items_and_time_added():
    data = b'<!DOCTYPE html><ul><li><a href="https://getpocket.example/x" time_added="1500000000" tags="r">X</a></li>' \
           b'<li><a href="https://getpocket.example/y">Y</a></li></ul>'
    entries = read(data)
    assert [(e.url, e.title, e.tags) for e in entries] == [
        ("https://getpocket.example/x", "X", ["r"]), ("https://getpocket.example/y", "Y", [])]
    assert entries[0].added.year == 2017


def test_not_html_is_refused():
    with pytest.raises(BadFile, match="not an HTML bookmark file"):
        read(b"url,title\nhttps://example.com,Example\n")


def test_html_without_bookmarks_is_refused():
    with pytest.raises(BadFile, match="No bookmarks found"):
        read(b"<html><body><p>Hello</p></body></html>")


def test_truncated_file_yields_what_came_before_then_says_so():
    data = make_file(anchor("https://example.com/1"), anchor("https://example.com/2"))
    cut = data[: data.index(b"https://example.com/2") + 5]
    entries = []
    with pytest.raises(BadFile, match="ends in the middle"):
        for entry in netscape.read_entries(io.BytesIO(cut), chunk_bytes=16):
            entries.append(entry)
    assert [e.url for e in entries] == ["https://example.com/1"]


def test_ten_thousand_nested_folders_do_not_break_the_reader():
    depth = 10_000
    data = (HEAD + "<DT><H3>f</H3><DL><p>\n" * depth + anchor("https://example.com/deep")
            + "</DL><p>\n" * depth + anchor("https://example.com/after")).encode()
    entries = read(data, chunk=65536)
    assert [e.url for e in entries] == ["https://example.com/deep", "https://example.com/after"]
    assert len(entries[0].folders) == netscape.MAX_FOLDER_DEPTH
    assert "nest deeper" in entries[0].problems[0]
    assert entries[1].folders == [] and entries[1].problems == []


def test_a_tag_that_never_ends_stops_the_file_instead_of_filling_memory():
    data = HEAD.encode() + b'<DT><A HREF="https://example.com/ok">ok</A>\n<DT><A HREF="' + b"x" * (3 * 1024 * 1024)
    entries = []
    with pytest.raises(BadFile, match="never ends"):
        for entry in netscape.read_entries(io.BytesIO(data)):
            entries.append(entry)
    assert [e.url for e in entries] == ["https://example.com/ok"]


def test_a_huge_description_is_capped_while_reading():
    data = make_file(anchor("https://example.com/", description="word " * 100_000))
    [entry] = read(data, chunk=65536)
    assert len(entry.description) <= 100_000 + 10
