"""bench/reanalyze.py's draining side: the product's reanalysis stage without the model call, in
one or several processes (run inside a Django-configured child; models import lazily)."""
from __future__ import annotations

import contextlib
import gc
import json
import time
from pathlib import Path

TEXTS, SCREENSHOTS = 1000, 32  # distinct model inputs embedded once (bench/reanalyze.py, make_vectors)


def load_vectors(path: Path) -> tuple[dict, list]:
    """The real models' vectors kept by make_vectors, and their concepts."""
    import numpy as np
    with np.load(path) as stored:  # read once: an NpzFile decompresses on every access
        vectors = {name: stored[name] for name in stored.files}
    return vectors, json.loads(str(vectors["concepts"]))


def ready_to_drain(user_id: int) -> list[int]:
    """What a running worker keeps loaded, loaded before the timing; returns the rebuild counter."""
    from tagging.analysis import library
    from tagging.suggestions import service
    service.vocabulary(user_id)  # tag names embedded once per process (the real text model)
    library.library_for(user_id)  # the index loaded once
    return count_rebuilds()


def drain_stage(batch: int, user_id: int, vectors, concepts, share: tuple[int, int] = (0, 1),
                drained=None) -> tuple[int, int]:
    """(links, batches) this process drained; code that scores in a second phase
    (tagging/analysis/scoring_phase.py) stores every batch's vectors, then, once every process has
    (``drained``: a barrier of all of them), scores its ``share`` of the links, as the processes
    of ``reanalyze --jobs N`` do."""
    two_phases = has_scoring_phase()
    stage = new_stage if has_bulk_writes() else old_stage
    done = batches = 0
    while claimed := stage(batch, user_id, vectors, concepts, score=not two_phases):
        done, batches = done + claimed, batches + 1
    if two_phases:
        from tagging.analysis import scoring_phase
        if drained is not None:
            drained.wait()
        for _ in scoring_phase.score_due(batch, user_id, share):
            batches += 1
    return done, batches


def has_scoring_phase() -> bool:
    try:
        from tagging.analysis import scoring_phase  # noqa: F401
    except ImportError:
        return False
    return True


def count_rebuilds() -> list[int]:
    """A counter of the person's library being built from scratch (tagging/analysis/library.py
    builds one wherever it calls its ``Library``)."""
    from tagging.analysis import library
    counter, build = [0], library.Library

    def counted(*args, **kwargs):
        counter[0] += 1
        return build(*args, **kwargs)

    library.Library = counted
    return counter


class Others:
    """The other ``count`` draining processes (spawned; each loads what this one loads, then waits
    for the start, so that only the draining is timed)."""

    def __init__(self, count: int, vectors_path: Path, batch: int, user_id: int) -> None:
        import multiprocessing
        context = multiprocessing.get_context("spawn")
        self.ready, self.start, self.answers = context.Semaphore(0), context.Event(), context.Queue()
        self.drained = context.Barrier(count + 1)  # this process and the others, between the phases
        self.processes = [context.Process(target=other_drainer, args=(vectors_path, batch, user_id, self.ready,
                                                                       self.start, self.answers, self.drained,
                                                                       (n + 1, count + 1)))
                          for n in range(count)]
        for process in self.processes:
            process.start()

    def wait_ready(self) -> None:
        for _ in self.processes:
            self.ready.acquire()

    def go(self) -> None:
        self.start.set()

    def results(self) -> list[tuple[int, int, float]]:
        """(links drained, library rebuilds, seconds holding the write lock) of each."""
        got = [self.answers.get(timeout=3600) for _ in self.processes]
        for process in self.processes:
            process.join()
        return got


def other_drainer(vectors_path: Path, batch: int, user_id: int, ready, start, answers, drained,
                  share: tuple[int, int]) -> None:
    import django
    django.setup()
    from django.db import connection
    vectors, concepts = load_vectors(vectors_path)
    rebuilds = ready_to_drain(user_id)
    lock = WriteLock(connection)
    with heap_frozen(), CollectorTime() as collector:
        ready.release()
        start.wait()
        with connection.execute_wrapper(lock):
            done, _ = drain_stage(batch, user_id, vectors, concepts, share, drained)
    answers.put((done, rebuilds[0], lock.seconds, collector.seconds))


class CollectorTime:
    """Seconds this process spent in the cyclic garbage collector's collections (gc.callbacks), by
    generation: a collection of the oldest walks every object that is not frozen."""

    def __init__(self) -> None:
        self.seconds, self._started = [0.0, 0.0, 0.0], None

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.seconds[info["generation"]] += time.perf_counter() - self._started

    def __enter__(self) -> CollectorTime:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self)


class QueryCount:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class WriteLock:
    """Seconds this process held the database's write lock: its transactions from BEGIN to COMMIT,
    and its writes made outside one (with other writers, these include waiting for the lock). On
    SQLite every other writer waits through them, so with N processes the drain cannot go faster
    than the sum over all of them."""

    def __init__(self, connection) -> None:
        self.seconds, self._began = 0.0, None
        self.connection = connection
        self.counted = connection.vendor == "sqlite"  # Postgres locks rows, not the whole database
        if not self.counted:
            return
        begin, commit = connection._start_transaction_under_autocommit, connection._commit

        def began():
            begun = begin()  # once it returns this process holds the lock (BEGIN IMMEDIATE waits for it)
            self._began = time.perf_counter()
            return begun

        def committed():
            done = commit()
            if self._began is not None:
                self.seconds += time.perf_counter() - self._began
                self._began = None
            return done

        connection._start_transaction_under_autocommit, connection._commit = began, committed

    def __call__(self, execute, sql, params, many, context):
        if not self.counted:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if self.connection.get_autocommit() and sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                self.seconds += time.perf_counter() - started


def suggested(user_id: int) -> int:
    """Every analysed link of the person given pending suggestions, then their scores moved, as a
    library has them before a re-analysis with other models (each is written again); returns how many."""
    from django.db.models import F

    from tagging.analysis.library import forget
    from tagging.models import Analysis, TagSuggestion
    from tagging.suggestions import service
    analyses = list(Analysis.objects.filter(user_id=user_id, status="done").select_related("link", "snapshot"))
    for start in range(0, len(analyses), 1024):
        service.suggest_for(service.scoring_inputs(analyses[start:start + 1024]))
    forget()
    return TagSuggestion.objects.filter(user_id=user_id).update(score=F("score") * 0.5)


def heap_frozen():
    """What each of reanalyze's processes drains within once its models are loaded (where the code
    has it): what is loaded kept out of the garbage collector's full collections."""
    try:
        from tagging.analysis.heap import loaded_heap_frozen
    except ImportError:
        return contextlib.nullcontext()
    return loaded_heap_frozen()


def has_bulk_writes() -> bool:
    from tagging.analysis import run
    return hasattr(run, "store_vectors")


def outputs_for(link_id: int, vectors, concepts):
    """The vectors the models give this link (precomputed by the real models; see make_vectors)."""
    t, s = link_id % TEXTS, link_id % SCREENSHOTS
    return vectors["text"][t], (vectors["feature"][s], vectors["descriptor"][s], concepts[s])


def embedded(claimed, vectors, concepts):
    """What the models give the claimed batch (run.Embedded, from the precomputed vectors)."""
    from tagging.analysis import run
    out = run.Embedded()
    for n, analysis in enumerate(claimed.analyses):
        out.texts[n], out.images[n] = outputs_for(analysis.link_id, vectors, concepts)
    return out


def new_stage(batch: int, user_id: int, vectors, concepts, score: bool = True) -> int:
    import inspect

    from tagging.analysis import run
    if score or "scoring" not in inspect.signature(run.claim).parameters:  # as the baseline claims
        claimed = run.claim(batch, user_id)
    else:
        claimed = run.claim(batch, user_id, scoring=False)
    if claimed is None:
        return 0
    if score:  # as the baseline's write is called: it takes no ``score``
        run.write(claimed, embedded(claimed, vectors, concepts))
    else:
        run.write(claimed, embedded(claimed, vectors, concepts), score=False)
    return len(claimed.analyses)


def old_stage(batch: int, user_id: int, vectors, concepts, score: bool = True) -> int:
    """The baseline's run.analyse after its model call, and its run_batch after that (row by row)."""
    from tagging.analysis import jobs
    from tagging.analysis.inputs import inputs_of
    from tagging.analysis.predictor import model_version
    from tagging.analysis.vectors import pack
    from tagging.suggestions import service
    token, rows = jobs.claim_batch(batch, user_id)
    if not rows:
        return 0
    inputs = [inputs_of(a.link, a.snapshot) for a in rows]
    done = []
    for analysis, got in zip(rows, inputs):
        text, (feature, descriptor, found) = outputs_for(analysis.link_id, vectors, concepts)
        fields = dict(text_vector=pack(text), image_feature=pack(feature), image_descriptor=pack(descriptor),
                      concepts=[[name, round(p, 4)] for name, p in found], inputs=got.used,
                      model_version=model_version(), terms=got.terms)
        if jobs.finish(analysis, token, **fields):
            for name, value in fields.items():
                setattr(analysis, name, value)
            done.append((analysis, got))
    service.suggest_for(done)
    return len(rows)
