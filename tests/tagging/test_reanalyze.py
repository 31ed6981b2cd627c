"""manage.py reanalyze: missing/outdated links by default, everything with --all, resumable."""
from __future__ import annotations

import gc
import io
import multiprocessing
import os
import re
import signal
import threading

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from inference.config import FEATURE_DIM, TEXT_DIM
from snapshots.models import Link
from tagging.analysis import jobs as analysis_jobs
from tagging.analysis import run as analyze
from tagging.analysis.predictor import model_version
from tagging.analysis.vectors import unpack
from tagging.models import Analysis, TagSuggestion
from tests.support.celery_worker import wait_for
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


def test_redoing_everything_one_link_at_a_time_suggests_what_was_suggested(alice):
    """Idempotent: the first link redone is scored against the whole library, as it was the first
    time, not against the links already redone."""
    captured_link(alice, "https://example.org/new", "Postgres notes", "Vacuum, indexes and query plans in postgres.",
                  screenshot=screenshot_png())
    for n in range(4):
        captured_link(alice, f"https://example.org/pg{n}", f"Postgres {n}", f"Postgres {n}: vacuum and indexes.",
                      tags=["postgres" if n < 3 else "databases"], screenshot=screenshot_png())
    analyze.run_batch()
    before = pending_suggestions(alice)
    assert before and any(link.endswith("/new") for link, _, _, _ in before)
    reanalyze("--user", "alice", "--all", "--batch", "1")
    after = pending_suggestions(alice)
    # The same vectors up to rounding (a batch of one pads the text differently): the same reasons.
    assert [(link, name, reasons) for link, name, _, reasons in after] == [
        (link, name, reasons) for link, name, _, reasons in before]
    assert [score for *_, score, _ in after] == pytest.approx([score for *_, score, _ in before], abs=2e-3)


def pending_suggestions(user) -> list:
    return sorted((s.link.url, s.name, s.score, tuple(s.reasons))
                  for s in TagSuggestion.objects.filter(user=user, state="pending").select_related("link"))


def test_an_interrupted_run_is_resumed(alice, analysed):
    analysis_jobs.queue_reanalysis(Link.objects.filter(user=alice), model_version(), everything=True)
    analyze.run_batch(limit=1, user_id=alice.pk)  # the run stopped after one batch
    out = reanalyze("--user", "alice", "--all", "-v", "2")
    assert "Resuming: 2 analyses still pending and 0 links' suggestions still due" in out
    assert "Analysed 2 links" in out and "suggestions for 2 links" in out
    assert stage_seconds(out, "1 batch")["models (beside them)"] > 0  # the models really ran, and were timed


def test_suggestions_are_scored_once_every_vector_is_redone_and_an_interrupted_scoring_is_finished(alice):
    for n in range(3):
        captured_link(alice, f"https://example.org/pg{n}", f"Postgres {n}", f"Postgres {n}: vacuum and indexes.",
                      tags=["postgres"], screenshot=screenshot_png())
    new = captured_link(alice, "https://example.org/new", "Postgres notes", "Vacuum and indexes in postgres.",
                        screenshot=screenshot_png())
    analyze.run_batch()
    assert not Analysis.objects.filter(suggestions_due=True).exists()  # the worker scores as it stores
    TagSuggestion.objects.filter(link=new).delete()
    analysis_jobs.queue_reanalysis(Link.objects.filter(user=alice), model_version(), everything=True)
    # The run stopped after its first phase: every vector stored, no suggestion scored yet.
    assert sum(analyze.drain(limit=2, user_id=alice.pk, score=False)) == 4
    assert Analysis.objects.filter(user=alice, status="done", suggestions_due=True).count() == 4
    assert not TagSuggestion.objects.filter(link=new).exists()
    out = reanalyze("--user", "alice", "--all")
    assert "Resuming: 0 analyses still pending and 4 links' suggestions still due" in out
    assert "Analysed 0 links" in out and "suggestions for 4 links" in out
    assert not Analysis.objects.filter(suggestions_due=True).exists()
    assert "postgres" in {s.name for s in TagSuggestion.objects.filter(link=new, state="pending")}


def stage_seconds(out: str, batches: str) -> dict[str, float]:
    """The stage times `reanalyze -v 2` reports, by stage."""
    line = re.search(rf"Stage times over {batches}: (.*)\.", out)
    assert line, out
    times = {m[1].strip(): float(m[2]) for m in re.finditer(r"([a-z ()]+?) (\d+\.\d+) s", line[1])}
    assert list(times) == ["claiming and reading inputs", "waiting for the models", "storing vectors",
                           "reading links for scoring", "scoring and suggestions", "models (beside them)"], line[0]
    return times


def test_an_unknown_person_is_a_clear_error(analysed):
    with pytest.raises(CommandError, match="There is no user named 'carol'"):
        reanalyze("--user", "carol")


@pytest.mark.django_db(transaction=True)  # the processes read what this test wrote
def test_several_processes_analyse_every_link_once_with_the_same_vectors(alice):
    for n in range(6):
        captured_link(alice, f"https://example.org/{n}", f"Page {n}", f"Text about topic {n}.",
                      screenshot=screenshot_png(stripe=(20 * n, 60, 160)))
    out = reanalyze("--user", "alice", "--jobs", "2", "--batch", "2", "-v", "2")
    assert "Models loaded (onnxruntime) in 2 processes" in out and "Analysed 6 links" in out
    assert "(the 2 processes together)" in out and stage_seconds(out, "3 batches")["models (beside them)"] > 0
    rows = {a.link_id: a for a in Analysis.objects.filter(user=alice)}
    assert {a.status for a in rows.values()} == {"done"} and {a.attempts for a in rows.values()} == {1}
    assert len({a.claim for a in rows.values()}) == 3  # three batches of two, none claimed twice
    assert "suggestions for 6 links" in out and not any(a.suggestions_due for a in rows.values())
    reanalyze("--user", "alice", "--all")  # one process, the reference
    for again in Analysis.objects.filter(user=alice):
        before = rows[again.link_id]
        assert again.inputs == before.inputs and "image" in again.inputs
        assert np.allclose(unpack(again.image_feature, FEATURE_DIM), unpack(before.image_feature, FEATURE_DIM), atol=1e-3)
        assert np.allclose(unpack(again.text_vector, TEXT_DIM), unpack(before.text_vector, TEXT_DIM), atol=1e-3)


@pytest.mark.django_db(transaction=True)
def test_a_process_killed_at_start_is_reported_and_the_other_does_the_work(alice):
    for n in range(4):
        captured_link(alice, f"https://example.org/{n}", f"Page {n}", "text", tags=["notes"] if n < 2 else [])
    errors = []

    def run() -> None:
        try:
            reanalyze("--user", "alice", "--jobs", "2")
        except CommandError as exc:
            errors.append(str(exc))
        finally:
            connection.close()  # this thread's own connection

    command = threading.Thread(target=run)
    command.start()
    # Killed as the kernel's out-of-memory killer would, before it could claim anything (it is still
    # starting its interpreter).
    victim = wait_for(lambda: [p for p in multiprocessing.active_children() if p.name == "reanalyze-1"], 30,
                      "the first analysing process")[0]
    os.kill(victim.pid, signal.SIGKILL)
    command.join(180)
    assert errors and "1 of 2 analysing processes failed (reanalyze-1: -9)" in errors[0]
    assert "run the command again" in errors[0]
    assert set(Analysis.objects.filter(user=alice).values_list("status", flat=True)) == {"done"}
    # The process left scores the killed one's share of the links too.
    assert not Analysis.objects.filter(suggestions_due=True).exists()
    assert TagSuggestion.objects.filter(user=alice, name="notes").count() == 2


def test_jobs_and_batch_must_be_positive(analysed):
    with pytest.raises(CommandError, match="at least 1"):
        reanalyze("--jobs", "0")


def test_each_process_gets_its_share_of_the_cores_unless_told_otherwise(monkeypatch):
    from tagging.analysis import drain_processes

    pools = ("LINKSHOT_ORT_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")
    for name in (*pools, "LINKSHOT_DECODE_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    drain_processes._share_cores(4)
    assert [os.environ[name] for name in pools] == ["4"] * 4
    assert os.environ["LINKSHOT_DECODE_WORKERS"] == "3"  # (16 - 2) // 4
    monkeypatch.setenv("RAYON_NUM_THREADS", "2")
    drain_processes._share_cores(16)
    assert os.environ["RAYON_NUM_THREADS"] == "2" and os.environ["OMP_NUM_THREADS"] == "4"  # set: left alone


def test_several_processes_take_cudnns_choice_no_graphs_and_no_compile_unless_told_otherwise(monkeypatch):
    from inference.backends.torch_cuda import compile_choice
    from tagging.analysis import drain_processes

    shared = ("LINKSHOT_CUDNN_BENCHMARK", "LINKSHOT_CUDA_WAIT", "LINKSHOT_CUDA_GRAPHS", "LINKSHOT_TORCH_COMPILE")
    for name in shared:
        monkeypatch.delenv(name, raising=False)
    drain_processes._share_gpu(1)
    assert not any(name in os.environ for name in shared)
    assert compile_choice(None, "image") == "jit"  # a single worker keeps the compiled image model
    drain_processes._share_gpu(8)
    assert [os.environ[name] for name in shared] == ["false", "block", "false", "off"]
    assert compile_choice(None, "image") == "off" and compile_choice(None, "text") == "off"
    monkeypatch.setenv("LINKSHOT_CUDNN_BENCHMARK", "true")
    monkeypatch.setenv("LINKSHOT_CUDA_GRAPHS", "true")
    monkeypatch.setenv("LINKSHOT_TORCH_COMPILE", "image=jit")
    drain_processes._share_gpu(8)
    assert os.environ["LINKSHOT_CUDNN_BENCHMARK"] == "true" and os.environ["LINKSHOT_CUDA_GRAPHS"] == "true"
    assert compile_choice(None, "image") == "jit"


def test_the_batches_run_with_what_was_loaded_left_out_of_the_collections(alice, analysed):
    frozen_at_collections = []

    def collecting(phase: str, info: dict) -> None:
        if phase == "start":
            frozen_at_collections.append(gc.get_freeze_count())

    gc.callbacks.append(collecting)
    try:
        out = reanalyze("--user", "alice", "--all")
    finally:
        gc.callbacks.remove(collecting)
    assert "Analysed 3 links" in out
    assert frozen_at_collections and max(frozen_at_collections) > 0
    assert gc.get_freeze_count() == 0  # this process's heap given back as it was


def test_the_vectors_phase_reads_no_mention_words_and_the_scoring_reads_them(alice, analysed, monkeypatch):
    from tagging.analysis import inputs as analysis_inputs
    from tagging.suggestions import service

    made = []
    real = analysis_inputs.inputs_of

    def recorded(*args, **kwargs):
        got = real(*args, **kwargs)
        made.append(bool(got.page.title))
        return got

    monkeypatch.setattr(analyze, "inputs_of", recorded)
    monkeypatch.setattr(service, "inputs_of", recorded)
    out = reanalyze("--user", "alice", "--all")
    assert "Analysed 3 links" in out
    assert made == [False] * 3 + [True] * 3  # stored without them, then scored with them
    assert not Analysis.objects.filter(user=alice, suggestions_due=True).exists()
