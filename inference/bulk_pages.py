"""Bulk embedding of whole pages: one stored screenshot and one page text per link.

The screenshots go through the bulk image path (bulk.py) while the texts are tokenised and
embedded in a second thread: tokenising (Rust, GIL released) and JPEG decoding (nvJPEG or
PIL threads) use different resources, so the two halves overlap instead of adding up.
A bad screenshot or a bad text fails only that half of its link, with the reason.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .bulk import BulkResult, embed_stored_screenshots
from .config import TEXT_DIM
from .errors import InvalidText
from .preprocess_text import validate_text


@dataclass
class TextResult:
    indices: list[int] = field(default_factory=list)
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, TEXT_DIM), np.float32))
    failures: dict[int, str] = field(default_factory=dict)


@dataclass
class PagesResult:
    images: BulkResult
    texts: TextResult


def embed_texts_checked(texts: Sequence[object], predictor) -> TextResult:
    """Embed the texts that pass validation; the others are reported by index."""
    result = TextResult()
    good: list[str] = []
    for i, text in enumerate(texts):
        try:
            good.append(validate_text(text, i, predictor.settings.limits))
            result.indices.append(i)
        except InvalidText as exc:
            result.failures[i] = str(exc)
    if good:
        result.embeddings = predictor.embed_texts(good)
    return result


def embed_pages(screenshots: Sequence[str | os.PathLike[str]], texts: Sequence[object], predictor=None,
                batch_size: int = 256) -> PagesResult:
    """Screenshot features and text embeddings for many links at once (the two lists align)."""
    from .predictor import Predictor

    if len(screenshots) != len(texts):
        raise ValueError(f"{len(screenshots)} screenshots but {len(texts)} texts: one of each per link")
    predictor = predictor or Predictor.shared()
    with ThreadPoolExecutor(1) as side:
        text_job = side.submit(embed_texts_checked, texts, predictor)
        images = embed_stored_screenshots(screenshots, predictor=predictor, batch_size=batch_size)
        return PagesResult(images, text_job.result())
