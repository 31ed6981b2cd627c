"""Import jobs end to end in-process: links, tags, dates, flags, idempotence, resuming, captures."""
from datetime import datetime, timedelta, timezone as tz

import pytest
from django.utils import timezone

from imports import runner, services, tasks as import_tasks
from imports.models import ImportJob
from snapshots.models import Link, Snapshot
from tagging.models import Tag
from tests.factories import make_link
from tests.imports.conftest import upload
from tests.imports.files import HEAD, anchor, many, netscape

pytestmark = pytest.mark.django_db


def test_entries_become_links_with_their_fields(alice, import_file):
    data = netscape(anchor("https://example.com/a", "A", tags="Python,web", add_date=1600000000,
                           description="Desc", toread=True), anchor("https://example.com/b", "B"))
    job = import_file(alice, data)
    assert (job.status, job.total, job.done, job.imported, job.skipped) == ("done", 2, 2, 2, 0)
    a = Link.objects.get(user=alice, url="https://example.com/a")
    assert (a.title, a.description, a.unread) == ("A", "Desc", True)
    assert sorted(t.name for t in a.tags.all()) == ["Python", "web"]
    assert a.created_at == datetime(2020, 9, 13, 12, 26, 40, tzinfo=tz.utc)
    assert not Link.objects.get(url="https://example.com/b").unread


def test_imported_links_are_searchable(alice, import_file):
    import_file(alice, netscape(anchor("https://example.com/z", "Zeppelin manual")))
    from snapshots.links.queries import LinkQuery, query_links
    found = query_links(alice, LinkQuery(text="zeppelin"), Link.objects.all())
    assert [link.url for link in found] == ["https://example.com/z"]


def test_existing_tags_are_reused_in_any_case(alice, import_file):
    make_link(alice, "https://example.com/old", tags=["Python"])
    import_file(alice, netscape(anchor("https://example.com/new", tags="python")))
    assert list(Tag.objects.filter(user=alice).values_list("name", flat=True)) == ["Python"]


def test_folder_names_become_tags_only_when_asked(alice, bob, import_file):
    data = (HEAD + "<DL><p><DT><H3>Work, stuff</H3><DL><p>" + anchor("https://example.com/w")
            + "</DL><p></DL><p>").encode()
    import_file(alice, data, folders_as_tags=True)
    import_file(bob, data)
    assert [t.name for t in Link.objects.get(user=alice).tags.all()] == ["Work stuff"]
    assert list(Link.objects.get(user=bob).tags.all()) == []


def test_importing_the_same_file_twice_adds_nothing(alice, import_file):
    data = many(30)
    first = import_file(alice, data)
    before = (Link.objects.count(), Tag.objects.count(), Snapshot.objects.count())
    second = import_file(alice, data)
    assert (first.imported, second.imported, second.skipped) == (30, 0, 30)
    assert (Link.objects.count(), Tag.objects.count(), Snapshot.objects.count()) == before
    assert {issue.reason for issue in second.issues.all()} == {"Already saved (before this import or earlier in "
                                                                 "this file); left as it was."}


def test_existing_links_are_left_untouched(alice, import_file):
    kept = make_link(alice, "https://example.com/mine", tags=["keep"], title="My title", notes="my notes")
    stamp = Link.objects.get(pk=kept.pk).updated_at
    import_file(alice, netscape(anchor("https://example.com/mine", "Other title", tags="other",
                                       description="other", toread=True)))
    link = Link.objects.get(pk=kept.pk)
    assert (link.title, link.description, link.notes, link.unread, link.updated_at) == (
        "My title", "", "my notes", False, stamp)
    assert [t.name for t in link.tags.all()] == ["keep"]


def test_each_import_makes_one_bulk_capture_per_new_link(alice, import_file, django_capture_on_commit_callbacks):
    job = services.start_import(alice, upload(many(5)))
    with django_capture_on_commit_callbacks() as callbacks:
        runner.run_import(job.pk)
    snapshots = Snapshot.objects.filter(link__user=alice)
    assert snapshots.count() == 5 and all(s.bulk and s.status == "pending" for s in snapshots)
    assert any("send_bulk_captures_on_commit" in cb.__qualname__ for cb in callbacks)


def test_a_second_run_of_a_finished_job_does_nothing(alice, import_file):
    job = import_file(alice, many(3))
    assert runner.run_import(job.pk) == "skipped"
    assert Link.objects.count() == 3


class WorkerKilled(BaseException):
    """Stands in for the worker process dying between two batches."""


def test_a_job_whose_worker_died_resumes_after_its_last_batch(alice, settings, monkeypatch):
    settings.LINKSHOT_IMPORT_BATCH = 4
    job = services.start_import(alice, upload(many(10)))
    real_commit, calls = runner._commit, []

    def dying_commit(job, checked):
        calls.append(len(checked))
        if len(calls) == 2:
            raise WorkerKilled
        real_commit(job, checked)

    monkeypatch.setattr(runner, "_commit", dying_commit)
    with pytest.raises(WorkerKilled):
        runner.run_import(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.imported, Link.objects.count()) == ("running", 4, 4, 4)
    assert runner.run_import(job.pk) == "skipped"  # its heartbeat is fresh: maybe still alive
    monkeypatch.setattr(runner, "_commit", real_commit)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert runner.run_import(job.pk) == "done"
    job.refresh_from_db()
    assert (job.done, job.imported, job.skipped, job.attempts) == (10, 10, 0, 2)
    assert Link.objects.count() == 10 and Snapshot.objects.count() == 10


def test_a_worker_that_lost_its_claim_stops_writing(alice, settings):
    settings.LINKSHOT_IMPORT_BATCH = 2
    job = services.start_import(alice, upload(many(6)))
    claimed = runner.claim(job.pk)
    ImportJob.objects.filter(pk=job.pk).update(attempts=claimed.attempts + 1)  # resumed elsewhere
    claimed.total = 6
    with pytest.raises(runner.LostClaim):
        runner._commit(claimed, [])
    assert Link.objects.count() == 0


def test_beat_resends_stalled_and_lost_imports_only(alice, monkeypatch):
    sent = []
    monkeypatch.setattr(import_tasks.run_import, "delay", sent.append)
    long_ago = timezone.now() - timedelta(hours=1)
    stalled = services.start_import(alice, upload(many(2)))
    lost = services.start_import(alice, upload(many(2)))
    fresh = services.start_import(alice, upload(many(2)))
    finished = services.start_import(alice, upload(many(2)))
    ImportJob.objects.filter(pk=stalled.pk).update(status="running", heartbeat_at=long_ago, created_at=long_ago)
    ImportJob.objects.filter(pk=lost.pk).update(created_at=long_ago)
    ImportJob.objects.filter(pk=finished.pk).update(status="done", created_at=long_ago)
    assert import_tasks.resume_stalled_imports() == 2
    assert sorted(sent) == sorted([stalled.pk, lost.pk]) and fresh.pk not in sent
