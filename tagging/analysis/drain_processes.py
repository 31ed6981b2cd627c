"""Pending analyses drained by several processes at once (``manage.py reanalyze --jobs N``).

On a GPU host one draining process is limited by its database stage (claim, inputs, storing
vectors, scoring), which runs in one thread, while the models alone do several times its rate
(bench/RESULTS.md). Each process here runs both phases of a re-analysis with its own models and
database connection. First a :func:`run.drain` that stores vectors without scoring them: the
claim protocol already lets any number of workers share the queue without analysing a row twice.
Once every process has drained the queue, each scores its share of the links
(tagging/analysis/scoring_phase.py). The processes are started with "spawn", not forked: the
calling process may hold model sessions and their threads (onnxruntime is not fork-safe), and a
fresh interpreter loads its own. Each is told the database and media folder the command uses.

The library the scoring reads is built by this process, once: while the processes load their
models and store vectors it reads what they finish, and when all have drained it writes the
library to a private folder; each process adopts it instead of reading every row itself
(tagging/analysis/library.py, ``save`` and ``adopt``).
"""
from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import django
from django.conf import settings
from django.db import connections

from inference import config as inference_config
from inference import decode_pool

log = logging.getLogger(__name__)
POLL_S = 0.5
LIBRARIES = "libraries.pickle"  # the people's libraries, built once for every process (library.save)
LIBRARY_READ_EVERY_S = 1.0  # while vectors are stored: how often this process reads what was finished
# What a process reports, as (kind, ...) tuples: its models loaded (backends, seconds), a batch of
# vectors stored (links), the queue drained (its number), a batch of suggestions stored (links), its
# stage times.
LOADED, VECTORS, DRAINED, SUGGESTIONS, TIMES = "loaded", "vectors", "drained", "suggestions", "times"


class DrainProcessFailed(RuntimeError):
    """A draining process exited with an error; what it had claimed is re-sent once stale."""


class DrainProcesses:
    """``jobs`` processes re-analysing the queue; each first loads its models, then reports every
    batch of vectors, then every batch of suggestions."""

    def __init__(self, jobs: int, limit: int | None = None, user_id: int | None = None, times=None) -> None:
        """``times`` (a run.StageTimes) gets each process's stage times added as it ends."""
        context = multiprocessing.get_context("spawn")
        self.jobs, self.user_id, self.messages, self.score = jobs, user_id, context.Queue(), context.Event()
        # Each process's part of the scoring, set when it starts: its place among the processes still
        # running then, and their number last (scoring_phase.due's ``share``).
        self.shares = context.Array("i", [0] * jobs + [1], lock=False)
        # Private to this user (mode 0700): the processes unpickle what the parent writes there.
        self.folder = Path(tempfile.mkdtemp(prefix="linkshot-reanalyze-"))
        where = {"database": connections["default"].settings_dict["NAME"], "media_root": str(settings.MEDIA_ROOT),
                 "libraries": str(self.folder / LIBRARIES)}
        # Not daemonic: a process decodes screenshots in processes of its own on GPU hosts
        # (inference/decode_pool.py); they are stopped in _stop if the command ends early.
        self.children = [context.Process(target=_analyse_in_child,
                                         args=(self.messages, self.score, self.shares, n, limit, user_id, where),
                                         name=f"reanalyze-{n + 1}") for n in range(jobs)]
        for child in self.children:
            child.start()
        self.people = self._people(user_id)
        self._read_libraries()  # while the processes load their models
        self._early: list = []  # what came before every process had its models (batches, stage times)
        self.times = times

    def _people(self, user_id: int | None) -> list[int]:
        """The people whose links are re-analysed, when they are few enough for their libraries to
        be kept (library.KEPT_PEOPLE); else none, and each process builds what it scores against."""
        # Imported here, not at the top: a spawned process imports this module before Django is set
        # up and before its share of the cores is in the environment (numpy reads it on import).
        from tagging.analysis import library
        from tagging.models import Analysis

        pending = Analysis.objects.filter(status=Analysis.Status.PENDING).order_by()
        if user_id is not None:
            pending = pending.filter(user_id=user_id)
        people = sorted(pending.values_list("user_id", flat=True).distinct()[:library.KEPT_PEOPLE + 1])
        return people if len(people) <= library.KEPT_PEOPLE else []

    def _read_libraries(self) -> None:
        """The people's libraries built, or brought up to date with what the processes finished."""
        from tagging.analysis import library

        self._library_read = time.monotonic()
        try:
            for user_id in self.people:
                library.library_for(user_id)
        except Exception:  # the processes are running: each builds its own on first use instead
            log.warning("the libraries could not be built for the analysing processes", exc_info=True)
            self.people = []

    def _write_libraries(self) -> None:
        """The libraries, up to date, written for each process to adopt (once every process has
        drained the queue)."""
        from tagging.analysis import library

        try:
            if self.people:
                library.save(self.people, self.folder / LIBRARIES)
        except Exception:  # each process builds its own on first use instead
            log.warning("the libraries could not be written for the analysing processes", exc_info=True)
        library.forget()  # this process does not score

    def _start_scoring(self) -> int:
        """Each process still running told its part of the links to score, then to score them;
        returns how many links' suggestions are due."""
        from tagging.analysis import scoring_phase

        self._write_libraries()
        due = scoring_phase.due(self.user_id).count()
        running = [n for n, child in enumerate(self.children) if child.is_alive()]
        for place, n in enumerate(running):
            self.shares[n] = place
        self.shares[self.jobs] = max(len(running), 1)
        self.score.set()
        return due

    def models_loaded(self) -> tuple[str, float]:
        """Wait until each process has loaded its models (or ended): (backends, slowest seconds)."""
        loaded = []
        # A process that ended before it loaded (killed, failed) is not waited for.
        while len(loaded) + sum(not child.is_alive() for child in self.children) < self.jobs:
            try:
                message = self.messages.get(timeout=POLL_S)
            except queue.Empty:
                continue
            (loaded if message[0] == LOADED else self._early).append(message)
        names = ", ".join(sorted({name for _, name, _ in loaded})) or "none"
        return names, max((seconds for *_, seconds in loaded), default=0.0)

    def batches(self) -> Iterator[tuple[str, int]]:
        """(VECTORS or SUGGESTIONS, links) for each batch a process finishes, and (DRAINED, links whose
        suggestions are due) between the phases, until all have stopped; a process that failed is
        reported after the others finished (DrainProcessFailed)."""
        drained: set[int] = set()  # the processes that have drained the queue
        try:
            for message in itertools.chain(self._early, self._messages()):
                kind = message[0]
                if kind in (VECTORS, SUGGESTIONS):
                    yield kind, message[1]
                elif kind == TIMES and self.times is not None:  # sent as a process ends
                    self.times.add(message[1])
                if kind == DRAINED:
                    drained.add(message[1])
                if not self.score.is_set():
                    if all(n in drained or not child.is_alive() for n, child in enumerate(self.children)):
                        yield DRAINED, self._start_scoring()
                    elif time.monotonic() - self._library_read > LIBRARY_READ_EVERY_S:
                        self._read_libraries()
        finally:
            self._stop()
        failed = [child for child in self.children if child.exitcode != 0]
        if failed:
            codes = ", ".join(f"{child.name}: {child.exitcode}" for child in failed)
            raise DrainProcessFailed(f"{len(failed)} of {self.jobs} analysing processes failed ({codes}); the "
                                     "analyses they held go back to pending when they are found stale, and "
                                     "suggestions still due are scored: run the command again")

    def _messages(self) -> Iterator:
        while any(child.is_alive() for child in self.children) or not self.messages.empty():
            try:
                yield self.messages.get(timeout=POLL_S)
            except queue.Empty:
                yield (None,)  # nothing came: the caller still checks whether all have drained

    def _stop(self) -> None:
        for child in self.children:
            if child.is_alive():
                child.terminate()
            child.join()
        shutil.rmtree(self.folder, ignore_errors=True)


def _analyse_in_child(messages, score, shares, n: int, limit: int | None, user_id: int | None,
                      where: dict) -> None:
    jobs = len(shares) - 1
    _share_cores(jobs)
    _share_gpu(jobs)
    django.setup()
    connections["default"].settings_dict["NAME"] = where["database"]  # before its first query
    settings.MEDIA_ROOT = where["media_root"]
    # Imported once Django is set up in this new interpreter: the analysis code imports models.
    from tagging.analysis import library, run, scoring_phase
    from tagging.analysis.heap import loaded_heap_frozen
    from tagging.analysis.predictor import load_models

    times = run.StageTimes()
    try:
        messages.put((LOADED, *load_models()))
        with loaded_heap_frozen():
            for claimed in run.drain(limit=limit, user_id=user_id, times=times, score=False):
                messages.put((VECTORS, claimed))
            messages.put((DRAINED, n))
            while not score.wait(POLL_S):  # until every process has drained and the libraries are written
                if not multiprocessing.parent_process().is_alive():
                    return
            library.adopt(Path(where["libraries"]))  # else built on first use
            share = (shares[n], shares[jobs])
            for scored in scoring_phase.score_due(limit or settings.LINKSHOT_ANALYSIS_BATCH, user_id, share, times):
                messages.put((SUGGESTIONS, scored))
        messages.put((TIMES, times))
    finally:
        decode_pool.shutdown(wait=True)  # or this process would never end (see there)


def _share_cores(jobs: int) -> None:
    """Give each process its share of the cores for model threads, the scoring's matrix products
    (numpy's BLAS, read when numpy is first imported: before django.setup), the tokenizer's threads
    (its Rayon pool) and screenshot decoding, unless the environment already says how many. N
    processes that each start a thread per core would keep N times the cores busy, and BLAS threads
    spin while they wait."""
    cores = os.cpu_count() or 1
    share = str(max(1, cores // jobs))
    for variable in (inference_config.ENV_ORT_THREADS, "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ.setdefault(variable, share)
    os.environ.setdefault(inference_config.ENV_DECODE_WORKERS, str(max(1, (cores - 2) // jobs)))


def _share_gpu(jobs: int) -> None:
    """Several processes on one GPU take cuDNN's heuristic choice of convolution algorithms instead
    of timing them, unless the environment says otherwise. Each process times them at its first use
    of each shape, all at once: on an H200 host 8 processes kept the GPU saturated for 8-12 s (their
    first batch) while the steady state leaves it mostly idle, the draining threads on the CPU being
    the limit; with the choice the whole command did 1.6x the links a second (bench/RESULTS.md,
    "Reanalyze on an H200 host: cuDNN's choice in several processes").

    They launch their kernels at each call instead of capturing a CUDA graph of each batch shape:
    at these batch sizes a launch costs the CPU little beside the batch, and a capture (two more
    calls first, then the capture) is paid once per shape and process, in each process's first
    batch, while the cores are the limit. With 16 processes: 1,573-1,575 links/s against 1,382-1,430
    with graphs in one call, within the spread between runs in another (bench/RESULTS.md, "Reanalyze
    on an H200 host: no CUDA graphs, one library build, neighbours on the GPU")).

    For the same reason they run the image model uncompiled: torch.compile's start (the trace, the
    cached graph's load, its freezing passes: seconds of CPU, or a minute per bucket with a cold
    cache) would be paid by every process at its first batch, for a GPU that the drain leaves idle."""
    if jobs > 1:
        os.environ.setdefault(inference_config.ENV_CUDNN_BENCHMARK, "false")
        os.environ.setdefault(inference_config.ENV_CUDA_GRAPHS, "false")
        os.environ.setdefault(inference_config.ENV_TORCH_COMPILE, "off")
        # A thread waiting for the GPU sleeps instead of spinning on a core (backends/cuda_wait.py).
        os.environ.setdefault(inference_config.ENV_CUDA_WAIT, "block")
