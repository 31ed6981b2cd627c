"""manage.py reanalyze [--user NAME] [--all]: analyse stored snapshots again, in batches.

Without --all it analyses links that were never analysed, whose analysis failed, or that were
analysed by other model weights; with --all it redoes every one. It works in two phases: the
vectors of every pending link are stored first, then each link's suggestions are scored once,
against the whole library as redone (tagging/analysis/scoring_phase.py). The queue and the
suggestions still due live in the database, so an interrupted run is finished by running the
command again, and a running inference worker may share the work. The models embed one batch
while the previous one is written (tagging/analysis/run.py, ``drain``); with ``--jobs N`` that
many processes share both phases, each with its own models (tagging/analysis/drain_processes.py):
on a GPU host one process's database work is the limit.
"""
from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from accounts.commands import person_named
from inference.config import canonical_backend
from snapshots.models import Link
from tagging.analysis import drain_processes, gpu_memory
from tagging.analysis import jobs as analysis_jobs
from tagging.analysis import run as analyze
from tagging.analysis import scoring_phase
from tagging.analysis.heap import loaded_heap_frozen
from tagging.analysis.predictor import backend_name, load_models, model_version
from tagging.models import Analysis


class Command(BaseCommand):
    help = "Analyse stored snapshots again (tag-suggestion vectors and suggestions), with a progress line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", help="only this person's links (username)")
        parser.add_argument("--all", action="store_true", help="redo every link, not only missing/outdated ones")
        parser.add_argument("--batch", type=int, default=128, help="links per model batch (default 128)")
        parser.add_argument("--jobs", type=int, default=1,
                            help="processes analysing at once, each loading the models (default 1); "
                                 "on a GPU host several keep the GPU busy")

    def handle(self, *args, user=None, all=False, batch=128, jobs=1, verbosity=1, **options) -> None:
        if batch < 1 or jobs < 1:
            raise CommandError("--batch and --jobs must be at least 1.")
        person = person_named(user)
        user_id = person.pk if person else None
        links = Link.objects.filter(user=person) if person else Link.objects.all()
        pending = Analysis.objects.filter(link__in=links, status__in=[Analysis.Status.PENDING, Analysis.Status.RUNNING])
        due = scoring_phase.due(user_id)
        if all and (pending.exists() or due.exists()):  # an interrupted --all run: finish it, not start over
            self.stdout.write(f"Resuming: {pending.count()} analyses still pending and {due.count()} links' "
                              "suggestions still due from an earlier run.")
        else:
            queued = analysis_jobs.queue_reanalysis(links, model_version(), all)
            self.stdout.write(f"Queued {queued} of {links.count()} links for analysis.")
        total, times = pending.count(), analyze.StageTimes()
        if jobs > 1:
            jobs = self._jobs_that_fit(jobs, batch)
        if jobs == 1:
            backends, seconds = load_models()
            self.stdout.write(f"Models loaded ({backends}) in {seconds:.1f} s.")
            batches = self._both_phases(batch, user_id, times)
        else:
            processes = drain_processes.DrainProcesses(jobs, limit=batch, user_id=user_id, times=times)
            backends, seconds = processes.models_loaded()
            self.stdout.write(f"Models loaded ({backends}) in {jobs} processes in {seconds:.1f} s.")
            batches = processes.batches()
        try:
            self._report(batches, total)
        except drain_processes.DrainProcessFailed as exc:
            raise CommandError(str(exc)) from exc
        if verbosity >= 2:  # where the time went: the database or the models
            self.stdout.write(times.summary() + ("" if jobs == 1 else f" (the {jobs} processes together)"))

    @staticmethod
    def _both_phases(batch: int, user_id: int | None, times: analyze.StageTimes):
        """In this process: (phase, links) for each batch of vectors stored, then of suggestions, as
        DrainProcesses.batches reports them. The models are loaded before the first."""
        with loaded_heap_frozen():
            for claimed in analyze.drain(limit=batch, user_id=user_id, times=times, score=False):
                yield drain_processes.VECTORS, claimed
            yield drain_processes.DRAINED, scoring_phase.due(user_id).count()
            for scored in scoring_phase.score_due(batch, user_id, times=times):
                yield drain_processes.SUGGESTIONS, scored

    def _jobs_that_fit(self, jobs: int, batch: int) -> int:
        """``jobs``, or as many processes as the GPU's free memory holds where the models run on one."""
        name = backend_name()
        if name is not None and canonical_backend(name) == "onnxruntime":
            return jobs
        free = gpu_memory.free_bytes()
        fit = gpu_memory.processes_that_fit(jobs, batch, free)
        if fit < jobs:
            need = gpu_memory.per_process_bytes(batch) / gpu_memory.GIB
            self.stdout.write(f"--jobs {jobs} lowered to {fit}: each process needs about {need:.1f} GiB of GPU "
                              f"memory at batch {batch}, and the GPU has {free / gpu_memory.GIB:.1f} GiB free.")
        return fit

    def _report(self, batches, total: int) -> None:
        """A progress line per batch done in each phase, then the totals and the rate (links
        analysed, from the models loaded to the last suggestions stored)."""
        done = {drain_processes.VECTORS: 0, drain_processes.SUGGESTIONS: 0}
        started = phase_started = time.monotonic()
        vectors_s = None
        for kind, links in batches:
            if kind == drain_processes.DRAINED:  # the suggestions' phase begins: its total is what is due
                vectors_s, phase_started, total = time.monotonic() - started, time.monotonic(), links
                continue
            done[kind] += links
            rate = done[kind] / max(time.monotonic() - phase_started, 1e-6)
            left = max(total - done[kind], 0) / rate if rate else 0
            sys.stderr.write(f"\r  {kind} {done[kind]}/{total}  {rate:.1f} links/s  about {left:.0f} s left   ")
            sys.stderr.flush()
        elapsed = time.monotonic() - started
        vectors_s = elapsed if vectors_s is None else vectors_s
        sys.stderr.write("\n")
        analysed, scored = done[drain_processes.VECTORS], done[drain_processes.SUGGESTIONS]
        self.stdout.write(self.style.SUCCESS(
            f"Analysed {analysed} links in {elapsed:.1f} s: vectors in {vectors_s:.1f} s, suggestions for {scored} "
            f"links in {elapsed - vectors_s:.1f} s ({analysed / max(elapsed, 1e-6):.1f} links/s)."))

