"""manage.py reanalyze: missing/outdated links by default, everything with --all, resumable."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from snapshots.models import Link
from tagging.analysis import jobs as analysis_jobs
from tagging.analysis import run as analyze
from tagging.analysis.predictor import model_version
from tagging.models import Analysis
from tests.tagging.helpers import captured_link, screenshot_png


def reanalyze(*args) -> str:
    out = io.StringIO()
    call_command("reanalyze", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def analysed(alice, bob):
    links = [captured_link(alice, f"https://example.org/{n}", f"Page {n}", "Some text about pages.",
                           screenshot=screenshot_png()) for n in range(3)]
    captured_link(bob, "https://example.org/bob", "Bob's", "text")
    analyze.run_batch()
    return links


def test_only_missing_failed_and_outdated_links_by_default(alice, analysed):
    never = Link.objects.create(user=alice, url="https://example.org/never-analysed", title="Never")
    Analysis.objects.filter(link=analysed[0]).update(model_version="image-old+text-old")
    Analysis.objects.filter(link=analysed[1]).update(status="failed", error="boom")
    out = reanalyze("--user", "alice")
    assert "Queued 3 of 4 links" in out and "Analysed 3 links" in out
    rows = Analysis.objects.filter(user=alice)
    assert {a.status for a in rows} == {"done"} and {a.model_version for a in rows} == {model_version()}
    assert Analysis.objects.get(link=never).inputs == ["url"]
    assert "Queued 0 of 4 links" in reanalyze("--user", "alice")


def test_all_redoes_everything_of_one_person(alice, bob, analysed):
    before = Analysis.objects.get(link__user=bob).finished_at
    out = reanalyze("--user", "alice", "--all")
    assert "Queued 3 of 3 links" in out and "Analysed 3 links" in out
    assert Analysis.objects.get(link__user=bob).finished_at == before


def test_an_interrupted_run_is_resumed(alice, analysed):
    analysis_jobs.queue_reanalysis(Link.objects.filter(user=alice), model_version(), everything=True)
    analyze.run_batch(limit=1, user_id=alice.pk)  # the run stopped after one batch
    out = reanalyze("--user", "alice", "--all")
    assert "Resuming: 2 analyses still pending" in out and "Analysed 2 links" in out


def test_an_unknown_person_is_a_clear_error(analysed):
    with pytest.raises(CommandError, match="There is no user named 'carol'"):
        reanalyze("--user", "carol")
