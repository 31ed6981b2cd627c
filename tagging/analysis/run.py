"""Batches of analyses: claim and read inputs, run both models on the whole batch, store, score.

The models run once per batch (not once per link), so a large import keeps the model at a
useful batch size. A bad screenshot costs that link its image evidence only; its text is still
embedded and scored. The database side of a batch is a fixed number of queries whatever its
size (one claim, one fenced UPDATE of the analyses, one pass over the suggestions); :func:`drain`
also overlaps it with the models: batch k is written and scored while batch k+1 is embedded.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields

import numpy as np
from django.conf import settings

from inference import InferenceError, Predictor
from inference.bulk import embed_stored_screenshots
from inference.bulk_pages import embed_texts_checked
from tagging.analysis import jobs as analysis_jobs
from tagging.analysis import library
from tagging.analysis.heap import release_memory
from tagging.analysis.inputs import Inputs, inputs_of, stored_terms
from tagging.analysis.predictor import model_version, predictor
from tagging.analysis.vectors import pack
from tagging.models import Analysis
from tagging.scoring.lexical import pack_terms
from tagging.suggestions import service as suggestions

log = logging.getLogger(__name__)
TOP_CONCEPTS = 5
RESULT_FIELDS = ["text_vector", "image_feature", "image_descriptor", "concepts", "inputs", "model_version", "terms",
                 "term_vector", "suggestions_due"]


@dataclass
class Claimed:
    """A claimed batch with what the models read of each link (in the same order)."""
    token: str
    analyses: list[Analysis]
    inputs: list[Inputs]


# The stages of a drain, in the order they are reported, with the words they are reported in.
_STAGES = {"claim": "claiming and reading inputs", "waiting": "waiting for the models", "store": "storing vectors",
           "scoring_inputs": "reading links for scoring", "suggest": "scoring and suggestions",
           "models": "models (beside them)"}


@dataclass
class StageTimes:
    """Seconds a drain spent in each stage, where a re-analysis waits: ``claim`` (claiming a batch and
    reading its inputs), ``waiting`` (for the models to finish the batch), ``store`` (the vectors'
    UPDATE), ``scoring_inputs`` (reading stored links again to score them: reanalyze's second
    phase, scoring_phase.py) and ``suggest`` (scoring, the library brought up to date for it, and
    the suggestions' writes) in the draining thread, and ``models`` (both models over a batch) in
    the models' thread, which overlaps the others. ``batches``: the models' batches."""
    claim: float = 0.0
    waiting: float = 0.0
    store: float = 0.0
    scoring_inputs: float = 0.0
    suggest: float = 0.0
    models: float = 0.0
    batches: int = 0

    def add(self, other: "StageTimes") -> None:
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self) -> str:
        batches = f"{self.batches} batch" + ("" if self.batches == 1 else "es")
        return f"Stage times over {batches}: " + ", ".join(
            f"{label} {getattr(self, name):.2f} s" for name, label in _STAGES.items()) + "."


@dataclass
class Embedded:
    """The models' outputs for a batch, by position in it; a position missing had no such input."""
    images: dict[int, tuple[np.ndarray, np.ndarray, list]] = field(default_factory=dict)  # feature, descriptor, concepts
    texts: dict[int, np.ndarray] = field(default_factory=dict)


def claim(limit: int | None = None, user_id: int | None = None, scoring: bool = True) -> Claimed | None:
    """A batch of pending analyses with their inputs; without ``scoring`` (vectors only) the inputs
    leave out the words a tag's mention is looked for in."""
    token, batch = analysis_jobs.claim_batch(limit or settings.LINKSHOT_ANALYSIS_BATCH, user_id)
    if not batch:
        return None
    return Claimed(token, batch, [inputs_of(a.link, a.snapshot, terms=stored_terms(a), mentions=scoring)
                                  for a in batch])


def run_batch(limit: int | None = None, user_id: int | None = None) -> int:
    """Claim and analyse up to ``limit`` pending analyses; returns how many were claimed."""
    claimed = claim(limit, user_id)
    if claimed is None:
        return 0
    started = time.monotonic()
    try:
        embedded = embed(claimed, predictor())
    except InferenceError as exc:  # the model could not run at all (e.g. backend unavailable)
        _failed(claimed, exc)
        return len(claimed.analyses)
    write(claimed, embedded)
    log.info("analysed %s link(s) in %.2f s", len(claimed.analyses), time.monotonic() - started)
    release_memory()
    return len(claimed.analyses)


def drain(limit: int | None = None, user_id: int | None = None, times: StageTimes | None = None,
          score: bool = True) -> Iterator[int]:
    """Analyse every pending analysis (of one person if given); yields each batch's size.

    The models run in a second thread, one batch ahead: the next batch is claimed and handed to
    them before this one is written, so the GPU (or the CPU's model threads) never waits for the
    database. Only this thread touches the database. ``times`` collects the seconds of each stage.
    Without ``score`` the vectors are stored and the suggestions left due, for
    tagging/analysis/scoring_phase.py to score against the whole library once it is redone.
    """
    model, times = predictor(), times if times is not None else StageTimes()
    with ThreadPoolExecutor(1, thread_name_prefix="embed") as models:
        # Until a claim finds nothing: a batch the models failed on goes back to pending after the
        # next claim was made, and is taken again (its attempts bound the retries).
        while (ahead := _start(models, model, limit, user_id, times, score)) is not None:
            while ahead is not None:
                claimed, job = ahead
                ahead = _start(models, model, limit, user_id, times, score)  # queued behind this batch in the model thread
                if score and not job.done():  # while the models run: what other processes finished, read now
                    started = time.perf_counter()
                    _bring_up_to_date(claimed)
                    times.suggest += time.perf_counter() - started
                started = time.perf_counter()
                try:
                    embedded = job.result()
                except InferenceError as exc:
                    _failed(claimed, exc)
                else:
                    times.waiting += time.perf_counter() - started
                    write(claimed, embedded, times, score)
                release_memory()
                times.batches += 1
                yield len(claimed.analyses)


def _bring_up_to_date(claimed: Claimed) -> None:
    """The libraries this batch will be scored against, brought up to date (built on a process's
    first batch; otherwise the rows other workers finished since are read): the part of the
    scoring that does not need this batch's vectors. Not for a batch of more people than are kept
    in memory: the last ones would push out the first."""
    people = sorted({analysis.user_id for analysis in claimed.analyses})
    if len(people) <= library.KEPT_PEOPLE:
        for user_id in people:
            library.library_for(user_id)


def _start(models: ThreadPoolExecutor, model: Predictor, limit, user_id, times: StageTimes,
           score: bool) -> tuple[Claimed, Future] | None:
    started = time.perf_counter()
    claimed = claim(limit, user_id, scoring=score)
    times.claim += time.perf_counter() - started
    return None if claimed is None else (claimed, models.submit(_timed_embed, claimed, model, times))


def _timed_embed(claimed: Claimed, model: Predictor, times: StageTimes) -> Embedded:
    started = time.perf_counter()
    try:
        return embed(claimed, model)
    finally:
        times.models += time.perf_counter() - started


def _failed(claimed: Claimed, exc: Exception) -> None:
    analysis_jobs.fail_batch(claimed.analyses, claimed.token, f"The tag models could not run: {exc}")


def embed(claimed: Claimed, model: Predictor) -> Embedded:
    """Both models over the batch (no database work: :func:`drain` runs this in a second thread)."""
    inputs = claimed.inputs
    # Texts are tokenised and embedded in a second thread while the screenshots are decoded and
    # embedded (the bulk path's split: different resources, so the halves overlap).
    with ThreadPoolExecutor(1) as side:
        text_job = side.submit(embed_texts_checked, [i.text for i in inputs], model)
        images = _image_outputs(model, inputs)
        texts = text_job.result()
    for n, reason in texts.failures.items():
        log.warning("text of link %s not embedded: %s", claimed.analyses[n].link_id, reason)
    return Embedded(images=images, texts=dict(zip(texts.indices, texts.embeddings)))


def write(claimed: Claimed, embedded: Embedded, times: StageTimes | None = None,
          score: bool = True) -> list[tuple[Analysis, Inputs]]:
    """Store the batch's vectors (fenced by its claim) and, with ``score``, its suggestions (else
    they are left due); returns the analyses written."""
    started = time.perf_counter()
    stored = store_vectors(claimed, embedded, suggestions_due=not score)
    stored_at = time.perf_counter()
    if score:
        suggestions.suggest_for(stored)
    if times is not None:
        times.store += stored_at - started
        times.suggest += time.perf_counter() - stored_at
    return stored


def store_vectors(claimed: Claimed, embedded: Embedded, suggestions_due: bool = False) -> list[tuple[Analysis, Inputs]]:
    """The vectors of every analysis of the batch, stored in one UPDATE; returns those written
    (a row whose claim was taken over is neither written nor scored)."""
    version = model_version()
    for n, (analysis, got) in enumerate(zip(claimed.analyses, claimed.inputs)):
        feature, descriptor, concepts = embedded.images.get(n, (None, None, []))
        text = embedded.texts.get(n)
        used = [u for u in got.used if (u != "image" or feature is not None) and (u == "image" or text is not None)]
        analysis.text_vector, analysis.image_feature, analysis.image_descriptor = pack(text), pack(feature), pack(descriptor)
        analysis.concepts = [[name, round(p, 4)] for name, p in concepts]
        analysis.inputs, analysis.model_version, analysis.terms = used, version, got.terms
        analysis.term_vector, analysis.suggestions_due = pack_terms(*got.lexical), suggestions_due
    written = {a.pk for a in analysis_jobs.finish_batch(claimed.analyses, claimed.token, RESULT_FIELDS)}
    return [(a, got) for a, got in zip(claimed.analyses, claimed.inputs) if a.pk in written]


def _image_outputs(model: Predictor, inputs: list[Inputs]) -> dict[int, tuple]:
    """index -> (feature, descriptor, concepts) for the links whose screenshot decodes.

    Through the bulk path: files are read and decoded in parallel one batch ahead of the model
    (on the GPU with nvJPEG where the backend runs there); an unreadable file is skipped.
    """
    wanted = [n for n, i in enumerate(inputs) if i.image is not None]
    if not wanted:
        return {}
    result = embed_stored_screenshots([inputs[n].image for n in wanted], predictor=model)
    concepts = model.concepts(result.logits, k=TOP_CONCEPTS) if result.indices else []
    return {wanted[i]: (result.features[j], result.descriptors[j], concepts[j]) for j, i in enumerate(result.indices)}
