"""One batch of analyses: read inputs, run both models on the whole batch, store vectors, score.

The models run once per batch (not once per link), so a large import keeps the model at a
useful batch size. A bad screenshot costs that link its image evidence only; its text is still
embedded and scored.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from inference import InferenceError, Predictor
from inference.bulk import embed_stored_screenshots
from inference.bulk_pages import embed_texts_checked
from tagging.analysis import jobs as analysis_jobs
from tagging.analysis.inputs import Inputs, inputs_of
from tagging.analysis.predictor import model_version, predictor
from tagging.analysis.vectors import pack
from tagging.models import Analysis
from tagging.scoring.lexical import pack_terms
from tagging.suggestions import service as suggestions

log = logging.getLogger(__name__)
TOP_CONCEPTS = 5


def run_batch(limit: int | None = None, user_id: int | None = None) -> int:
    """Claim and analyse up to ``limit`` pending analyses; returns how many were claimed."""
    token, batch = analysis_jobs.claim_batch(limit or settings.LINKSHOT_ANALYSIS_BATCH, user_id)
    if not batch:
        return 0
    started = time.monotonic()
    try:
        done = analyse(batch, token, predictor())
    except InferenceError as exc:  # the model could not run at all (e.g. backend unavailable)
        for analysis in batch:
            analysis_jobs.fail(analysis, token, f"The tag models could not run: {exc}")
        return len(batch)
    suggestions.suggest_for(done)
    log.info("analysed %s link(s) in %.2f s", len(batch), time.monotonic() - started)
    return len(batch)


def analyse(batch: list[Analysis], token: str, model: Predictor) -> list[tuple[Analysis, Inputs]]:
    """Vectors for every analysis of the batch, stored; returns the analyses now done with their inputs."""
    inputs = [inputs_of(a.link, a.snapshot) for a in batch]
    # Texts are tokenised and embedded in a second thread while the screenshots are decoded and
    # embedded (the bulk path's split: different resources, so the halves overlap).
    with ThreadPoolExecutor(1) as side:
        text_job = side.submit(embed_texts_checked, [i.text for i in inputs], model)
        images = _image_outputs(model, inputs)
        texts = text_job.result()
    text_of = dict(zip(texts.indices, texts.embeddings))
    for n, reason in texts.failures.items():
        log.warning("text of link %s not embedded: %s", batch[n].link_id, reason)
    version = model_version()
    done = []
    for n, (analysis, got) in enumerate(zip(batch, inputs)):
        feature, descriptor, concepts = images.get(n, (None, None, []))
        used = [u for u in got.used if (u != "image" or feature is not None) and (u == "image" or n in text_of)]
        fields = dict(text_vector=pack(text_of.get(n)), image_feature=pack(feature), image_descriptor=pack(descriptor),
                      concepts=[[name, round(p, 4)] for name, p in concepts], inputs=used, model_version=version,
                      terms=got.terms, term_vector=pack_terms(*got.lexical))
        if analysis_jobs.finish(analysis, token, **fields):
            for name, value in fields.items():
                setattr(analysis, name, value)
            done.append((analysis, got))
    return done


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
