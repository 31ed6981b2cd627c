"""One person's analysed links as in-memory matrices, for scoring suggestions (the vector index).

The index is exact search over float32 matrices per person (numpy matrix-vector products). Text
vectors are kept whole (384-d); screenshot features are projected from 1280 to 256 dimensions by
a fixed random projection, which keeps cosine similarities within about 1/sqrt(256) = 0.06 (the
Johnson-Lindenstrauss bound) while cutting their memory fivefold. All links are kept in float16
(1.3 KB a link) and the tagged ones, the only ones that vote, again in float32 for the search
(2.6 KB a link): 100,000 tagged links take about 380 MB (bench/RESULTS.md, ## Suggestions: speed).
It is built from the stored float16 vectors on first use in the inference worker, then kept up to
date incrementally: a cheap count/max query tells whether analyses were added, redone or deleted.
Redone links (a re-analysis) get their new vectors in place (Library.replace_rows); new links are
added with their own tags read; a deletion rebuilds it. Where the count says rows are missing
that finished before the latest time seen (another process's batch, committed late), they are
found by id and added too. Tag memberships are read again only when
the person's memberships token (tagging/memberships.py: the shared cache's, or a summary read from
the database where there is none) says a link's tags changed.

A library returned by :func:`library_for` is changed in place by the next call for the same
person: the inference worker scores in one thread (Celery's solo pool, ``reanalyze``'s drain).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Max

from inference.config import FEATURE_DIM, TEXT_DIM
from snapshots.models import Link
from tagging import memberships
from tagging.analysis.vectors import unit, unpack_many
from tagging.models import Analysis
from tagging.scoring.lexical import unpack_terms
from tagging.scoring.index import Library

IMAGE_INDEX_DIM = 256
# People whose index is kept in memory at once (least recently used dropped first).
KEPT_PEOPLE = 4


@dataclass
class _Entry:
    stamp: tuple  # (done analyses, latest finished_at) when the library was last brought up to date
    members_version: str
    library: Library


@dataclass
class _Rows:
    """Analyses read from the database, as the library keeps them."""
    link_ids: np.ndarray
    text: np.ndarray  # float16 unit vectors
    image: np.ndarray  # float16, projected (IMAGE_INDEX_DIM)
    terms: list


_lock = threading.Lock()
_entries: dict[int, _Entry] = {}


def library_for(user_id: int) -> Library:
    """The person's current index (built or brought up to date as needed)."""
    with _lock:
        entry = _entries.pop(user_id, None)
        version = memberships.current(user_id)  # fixed before anything is read under it
        stamp = _stamp(user_id)
        if entry is None or stamp[1] is None or entry.stamp[1] is None:
            entry = _Entry(stamp, version, _build(user_id, _load(_done(user_id))))
        else:
            moved = version != entry.members_version  # some link's tags changed
            if entry.stamp != stamp:
                entry = _updated(user_id, entry, stamp, version, moved)
            elif moved:
                entry = _with_memberships(user_id, entry, version)
        _entries[user_id] = entry
        while len(_entries) > KEPT_PEOPLE:
            _entries.pop(next(iter(_entries)))
        return entry.library


def _build(user_id: int, rows: _Rows, row_tags: list | None = None) -> Library:
    if row_tags is None:
        row_tags = _row_tags(user_id, rows.link_ids)
    return Library(rows.link_ids, rows.text, rows.image, row_tags, rows.terms)


def _updated(user_id: int, entry: _Entry, stamp: tuple, version: str, moved: bool) -> _Entry:
    """The entry after analyses finished since its stamp: redone links in place, new ones added
    (``moved``: the memberships changed too, and are read again)."""
    old = entry.library
    newer = _load(_done(user_id).filter(finished_at__gt=entry.stamp[1]))
    position = old.row_of()
    at = np.array([position.get(int(i), -1) for i in newer.link_ids], np.int64)
    if old.size + int((at < 0).sum()) != stamp[0]:
        late = _committed_late(user_id, old, newer)
        if late is None:  # something was deleted or queued again: start over
            return _Entry(stamp, version, _build(user_id, _load(_done(user_id))))
        newer = _joined(newer, late)
        at = np.concatenate([at, np.full(len(late.link_ids), -1, np.int64)])  # none of them is in the library
    known = at >= 0
    if known.any():
        old.replace_rows(at[known], newer.text[known], newer.image[known],
                         [t for t, k in zip(newer.terms, known) if k])
        _count_changed(old, int(known.sum()))
    if known.all():
        entry = _Entry(stamp, entry.members_version, old)
        return _with_memberships(user_id, entry, version) if moved else entry
    added = ~known  # new links: appended, with only their own tags read (unless all are read again)
    new_ids = newer.link_ids[added]
    new_terms = [t for t, k in zip(newer.terms, added) if k]
    if moved:
        everyone = _row_tags(user_id, np.concatenate([old.link_ids, new_ids]))
        kept, new_tags = everyone[:old.size], everyone[old.size:]
    else:
        kept, new_tags = old.row_tags, _row_tags(user_id, new_ids, only_these=True)
    if kept != old.row_tags:  # some link's tags changed: built again
        rows = _joined(_rows_of(old), _Rows(new_ids, newer.text[added], newer.image[added], new_terms))
        return _Entry(stamp, version, _build(user_id, rows, kept + new_tags))
    old.add_rows(new_ids, newer.text[added], newer.image[added], new_tags, new_terms)
    _count_changed(old, int(added.sum()))
    return _Entry(stamp, version if moved else entry.members_version, old)


# Rows finished before the last stamp but committed after it are read by id below this many, else
# the library is built again.
MAX_LATE_ROWS = 10_000


def _committed_late(user_id: int, old: Library, newer: _Rows) -> _Rows | None:
    """Done analyses that neither the library nor ``newer`` holds: batches whose finish time came
    before the stamp's latest but whose transaction ended after it was read (another process
    draining the same queue, as ``reanalyze --jobs`` runs). None when some link of the library is
    no longer done (deleted or queued again), which only a rebuild takes out, or when too many are."""
    done = set(_done(user_id).values_list("link_id", flat=True))
    have = set(old.row_of()) | {int(i) for i in newer.link_ids}
    missing = done - have
    if have - done or len(missing) > MAX_LATE_ROWS:
        return None
    return _load(_done(user_id).filter(link_id__in=sorted(missing)))


def _rows_of(library: Library) -> _Rows:
    return _Rows(library.link_ids, library.text, library.image, library.terms)


def _joined(first: _Rows, second: _Rows) -> _Rows:
    return _Rows(np.concatenate([first.link_ids, second.link_ids]), np.concatenate([first.text, second.text]),
                 np.concatenate([first.image, second.image]), first.terms + second.terms)


def _with_memberships(user_id: int, entry: _Entry, version: str) -> _Entry:
    """The entry with the tag memberships read again (after they changed, or when unversioned)."""
    old = entry.library
    row_tags = _row_tags(user_id, old.link_ids)
    if row_tags == old.row_tags:
        return _Entry(entry.stamp, version, old)
    return _Entry(entry.stamp, version, _build(user_id, _rows_of(old), row_tags))


# A learnt combination (scoring/calibration.py) is kept while no link's tags changed and at most
# this share of the library's links are new or got new vectors since it was learnt: re-analysing
# a large library changes it after every batch, and learning again each time would cost more
# than scoring the batch.
RELEARN_AFTER_SHARE = 0.1


def _count_changed(library: Library, changed: int) -> None:
    if library.combination is None:
        return
    library.changed_since_learnt += changed
    if library.changed_since_learnt > RELEARN_AFTER_SHARE * library.size:
        library.combination = None  # learnt again on its next use


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


def _load(analyses) -> _Rows:
    rows = list(analyses.values_list("link_id", "text_vector", "image_feature", "term_vector"))
    text = unpack_many([r[1] for r in rows], TEXT_DIM)
    image = unpack_many([r[2] for r in rows], FEATURE_DIM)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    # float16 for all links; the Library keeps float32 copies of the tagged ones it searches.
    return _Rows(ids, unit(text).astype(np.float16), project_image(image).astype(np.float16),
                 [unpack_terms(r[3]) for r in rows])


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


def _row_tags(user_id: int, link_ids: np.ndarray, only_these: bool = False) -> list[tuple[int, ...]]:
    """Each of ``link_ids``' tag ids, from the memberships of all the person's links (or, with
    ``only_these``, of these links only: a few new ones)."""
    by_link: dict[int, list[int]] = {}
    pairs = Link.tags.through.objects.filter(link__user_id=user_id)
    if only_these:
        pairs = pairs.filter(link_id__in=[int(i) for i in link_ids])
    for link_id, tag_id in pairs.order_by("pk").values_list("link_id", "tag_id").iterator(chunk_size=10_000):
        by_link.setdefault(link_id, []).append(tag_id)
    return [tuple(by_link.get(int(link_id), ())) for link_id in link_ids]
