"""One person's analysed links as in-memory matrices, for scoring suggestions (the vector index).

The index is exact search over float32 matrices per person (numpy matrix-vector products). Text
vectors are kept whole (384-d); screenshot features are projected from 1280 to 256 dimensions by
a fixed random projection, which keeps cosine similarities within about 1/sqrt(256) = 0.06 (the
Johnson-Lindenstrauss bound) while cutting their memory fivefold. All links are kept in float16
(1.3 KB a link) and the tagged ones, the only ones that vote, again in float32 for the search
(2.6 KB a link): 100,000 tagged links take about 380 MB (bench/RESULTS.md, ## Suggestions: speed). It is built from the stored float16 vectors on first use in the inference
worker, then kept up to date incrementally: a cheap count/max query tells whether analyses
were added, redone or deleted. Tag memberships are reloaded when the person's data version
(snapshots.list_cache) says something changed, or on every use where no shared cache exists.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Max

from inference.config import FEATURE_DIM, TEXT_DIM
from snapshots import list_cache
from snapshots.models import Link
from tagging.analysis.vectors import unit, unpack
from tagging.models import Analysis
from tagging.scoring.lexical import unpack_terms
from tagging.scoring.score import Library

IMAGE_INDEX_DIM = 256
# People whose index is kept in memory at once (least recently used dropped first).
KEPT_PEOPLE = 4


@dataclass
class _Entry:
    stamp: tuple
    link_ids: np.ndarray
    text: np.ndarray
    image: np.ndarray
    terms: list  # each link's stored top terms (ids, counts), or None
    members_version: str | None = None
    library: Library | None = None
    redone: int = 0  # rows read again since the entry before (all of them on a full load)


_lock = threading.Lock()
_entries: dict[int, _Entry] = {}


def library_for(user_id: int) -> Library:
    """The person's current index (built or refreshed as needed)."""
    with _lock:
        before = _entries.pop(user_id, None)
        entry = _refreshed(user_id, before)
        _entries[user_id] = entry
        while len(_entries) > KEPT_PEOPLE:
            _entries.pop(next(iter(_entries)))
        version = list_cache.current_version(user_id)
        if entry.library is None or version is None or version != entry.members_version:
            entry.library = Library(entry.link_ids, entry.text, entry.image, _row_tags(user_id, entry.link_ids),
                                    entry.terms)
            entry.members_version = version
            if before is not None and before.library is not None:
                _keep_learnt(before.library, entry.library, entry.redone)
        return entry.library


# A learnt combination (scoring/calibration.py) is kept across rebuilds of the library while no
# link's tags changed and at most this share of its links are new or got new vectors since it was
# learnt: re-analysing a large library rebuilds it after every batch, and learning again each time
# would cost more than scoring the batch.
RELEARN_AFTER_SHARE = 0.1


def _keep_learnt(old: Library, new: Library, redone: int) -> None:
    learnt = getattr(old, "_combination", None)
    if learnt is None:
        return
    redone += getattr(old, "redone_since_learnt", 0)
    if redone > RELEARN_AFTER_SHARE * new.size:
        return
    before = dict(zip(old.link_ids.tolist(), old.row_tags))
    if any(before.get(link_id, tags) != tags for link_id, tags in zip(new.link_ids.tolist(), new.row_tags)):
        return
    new._combination, new.redone_since_learnt = learnt, redone


def forget(user_id: int | None = None) -> None:
    with _lock:
        if user_id is None:
            _entries.clear()
        else:
            _entries.pop(user_id, None)


def _done(user_id: int):
    return Analysis.objects.filter(user_id=user_id, status=Analysis.Status.DONE)


def _stamp(user_id: int) -> tuple:
    got = _done(user_id).aggregate(n=Count("id"), last=Max("finished_at"))
    return got["n"], got["last"]


def _refreshed(user_id: int, entry: _Entry | None) -> _Entry:
    stamp = _stamp(user_id)
    if entry is not None and entry.stamp == stamp:
        return entry
    if entry is None or stamp[1] is None or entry.stamp[1] is None:
        return _load(user_id, _done(user_id), stamp, redone=stamp[0])
    newer = _load(user_id, _done(user_id).filter(finished_at__gt=entry.stamp[1]), stamp)
    keep = ~np.isin(entry.link_ids, newer.link_ids)
    merged = _Entry(stamp=stamp, link_ids=np.concatenate([entry.link_ids[keep], newer.link_ids]),
                    text=np.concatenate([entry.text[keep], newer.text]),
                    image=np.concatenate([entry.image[keep], newer.image]),
                    terms=[t for t, k in zip(entry.terms, keep) if k] + newer.terms, redone=len(newer.link_ids))
    if len(merged.link_ids) != stamp[0]:  # something was deleted: start over
        return _load(user_id, _done(user_id), stamp, redone=stamp[0])
    return merged


def _load(user_id: int, analyses, stamp: tuple, redone: int = 0) -> _Entry:
    rows = list(analyses.values_list("link_id", "text_vector", "image_feature", "term_vector"))
    text = np.zeros((len(rows), TEXT_DIM), np.float32)
    image = np.zeros((len(rows), FEATURE_DIM), np.float32)
    for i, (_, text_blob, image_blob, _terms) in enumerate(rows):
        t, v = unpack(text_blob, TEXT_DIM), unpack(image_blob, FEATURE_DIM)
        if t is not None:
            text[i] = t
        if v is not None:
            image[i] = v
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    # float16 for all links; the Library keeps float32 copies of the tagged ones it searches.
    return _Entry(stamp=stamp, link_ids=ids, text=unit(text).astype(np.float16),
                  image=project_image(image).astype(np.float16), terms=[unpack_terms(r[3]) for r in rows],
                  redone=redone)


def project_image(features: np.ndarray) -> np.ndarray:
    """Screenshot features (N x 1280) as unit vectors of the 256-d index space."""
    return unit(features @ _projection())


_PROJECTION: np.ndarray | None = None


def _projection() -> np.ndarray:
    global _PROJECTION
    if _PROJECTION is None:  # fixed seed: every process projects the same way
        rng = np.random.default_rng(20261201)
        _PROJECTION = (rng.standard_normal((FEATURE_DIM, IMAGE_INDEX_DIM)) / np.sqrt(IMAGE_INDEX_DIM)).astype(np.float32)
    return _PROJECTION


def _row_tags(user_id: int, link_ids: np.ndarray) -> list[tuple[int, ...]]:
    by_link: dict[int, list[int]] = {}
    pairs = Link.tags.through.objects.filter(link__user_id=user_id).values_list("link_id", "tag_id")
    for link_id, tag_id in pairs.iterator(chunk_size=10_000):
        by_link.setdefault(link_id, []).append(tag_id)
    return [tuple(by_link.get(int(link_id), ())) for link_id in link_ids]
