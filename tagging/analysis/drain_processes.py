"""Pending analyses drained by several processes at once (``manage.py reanalyze --jobs N``).

On a GPU host one draining process is limited by its database stage (claim, inputs, storing
vectors, scoring), which runs in one thread, while the models alone do several times its rate
(bench/RESULTS.md). Each process here is a whole :func:`run.drain` with its own models and
database connection: the claim protocol already lets any number of workers share the queue
without analysing a row twice. The processes are started with "spawn", not forked: the calling
process may hold model sessions and their threads (onnxruntime is not fork-safe), and a fresh
interpreter loads its own. Each is told the database and media folder the command uses.

While they load their models, this process builds the library of the people whose analyses are
pending, once, and writes it to a private folder; each process adopts it instead of reading every
row of the library itself (tagging/analysis/library.py, ``save`` and ``adopt``).
"""
from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
import shutil
import tempfile
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


class DrainProcessFailed(RuntimeError):
    """A draining process exited with an error; what it had claimed is re-sent once stale."""


class DrainProcesses:
    """``jobs`` processes draining the queue; each first loads its models, then reports every batch."""

    def __init__(self, jobs: int, limit: int | None = None, user_id: int | None = None, times=None) -> None:
        """``times`` (a run.StageTimes) gets each process's stage times added as it ends."""
        context = multiprocessing.get_context("spawn")
        self.jobs, self.messages = jobs, context.Queue()
        # Private to this user (mode 0700): the processes unpickle what the parent writes there.
        self.folder = Path(tempfile.mkdtemp(prefix="linkshot-reanalyze-"))
        where = {"database": connections["default"].settings_dict["NAME"], "media_root": str(settings.MEDIA_ROOT),
                 "libraries": str(self.folder / LIBRARIES)}
        # Not daemonic: a process decodes screenshots in processes of its own on GPU hosts
        # (inference/decode_pool.py); they are stopped in _stop if the command ends early.
        self.children = [context.Process(target=_drain_in_child, args=(self.messages, jobs, limit, user_id, where),
                                         name=f"reanalyze-{n + 1}") for n in range(jobs)]
        for child in self.children:
            child.start()
        self._share_libraries(user_id)
        self._early: list = []  # what came before every process had its models (batches, stage times)
        self.times = times

    def _share_libraries(self, user_id: int | None) -> None:
        """The libraries of the people whose analyses are pending, built once here while the
        processes load their models, for each of them to adopt instead of reading every row of the
        library itself (at most as many people as a process keeps; each brings what it adopts up to
        date as usual)."""
        # Imported here, not at the top: a spawned process imports this module before Django is set
        # up and before its share of the cores is in the environment (numpy reads it on import).
        from tagging.analysis import library
        from tagging.models import Analysis

        pending = Analysis.objects.filter(status=Analysis.Status.PENDING).order_by()
        if user_id is not None:
            pending = pending.filter(user_id=user_id)
        try:
            people = sorted(pending.values_list("user_id", flat=True).distinct()[:library.KEPT_PEOPLE + 1])
            if 0 < len(people) <= library.KEPT_PEOPLE:
                library.save(people, self.folder / LIBRARIES)
        except Exception:  # the processes are running: each builds its own on first use instead
            log.warning("the libraries could not be built for the analysing processes", exc_info=True)
        library.forget()  # this process does not score

    def models_loaded(self) -> tuple[str, float]:
        """Wait until each process has loaded its models (or ended): (backends, slowest seconds)."""
        loaded = []
        # A process that ended before it loaded (killed, failed) is not waited for.
        while len(loaded) + sum(not child.is_alive() for child in self.children) < self.jobs:
            try:
                message = self.messages.get(timeout=POLL_S)
            except queue.Empty:
                continue
            (loaded if isinstance(message, tuple) else self._early).append(message)
        names = ", ".join(sorted({name for name, _ in loaded})) or "none"
        return names, max((seconds for _, seconds in loaded), default=0.0)

    def batches(self) -> Iterator[int]:
        """Each batch's size as a process finishes it, until all have stopped; a process that
        failed is reported after the others finished (DrainProcessFailed)."""
        try:
            for message in itertools.chain(self._early, self._messages()):
                if isinstance(message, int):
                    yield message
                elif not isinstance(message, tuple) and self.times is not None:  # stage times, sent as it ends
                    self.times.add(message)
        finally:
            self._stop()
        failed = [child for child in self.children if child.exitcode != 0]
        if failed:
            codes = ", ".join(f"{child.name}: {child.exitcode}" for child in failed)
            raise DrainProcessFailed(f"{len(failed)} of {self.jobs} analysing processes failed ({codes}); the "
                                     "analyses they held go back to pending when they are found stale: run the "
                                     "command again")

    def _messages(self) -> Iterator:
        while any(child.is_alive() for child in self.children) or not self.messages.empty():
            try:
                yield self.messages.get(timeout=POLL_S)
            except queue.Empty:
                continue

    def _stop(self) -> None:
        for child in self.children:
            if child.is_alive():
                child.terminate()
            child.join()
        shutil.rmtree(self.folder, ignore_errors=True)


def _drain_in_child(messages, jobs: int, limit: int | None, user_id: int | None, where: dict) -> None:
    _share_cores(jobs)
    _share_gpu(jobs)
    django.setup()
    connections["default"].settings_dict["NAME"] = where["database"]  # before its first query
    settings.MEDIA_ROOT = where["media_root"]
    # Imported once Django is set up in this new interpreter: the analysis code imports models.
    from tagging.analysis import library, run
    from tagging.analysis.predictor import load_models

    times = run.StageTimes()
    try:
        messages.put(load_models())
        library.adopt(Path(where["libraries"]))  # built by the parent meanwhile (else built on first use)
        for claimed in run.drain(limit=limit, user_id=user_id, times=times):
            messages.put(claimed)
        messages.put(times)
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
