"""One person's analysed links as in-memory matrices, for scoring suggestions (the vector index).

The index is exact search over float32 matrices per person (numpy matrix-vector products). Text
vectors are kept whole (384-d); screenshot features are projected from 1280 to 256 dimensions by
a fixed random projection, which keeps cosine similarities within about 1/sqrt(256) = 0.06 (the
Johnson-Lindenstrauss bound) while cutting their memory fivefold. All links are kept in float16
(1.3 KB a link) and the tagged ones, the only ones that vote, again in float32 for the search
(2.6 KB a link): 100,000 tagged links take about 380 MB (bench/RESULTS.md, ## Suggestions: speed).

It holds every analysis whose stored vectors stand: the done ones, and those queued again by
``reanalyze`` while their vectors are of the current models (jobs.queue_reanalysis keeps their
finish time, as a retry after a failure does; a new snapshot or other models clear it). So a
re-analysis scores every batch against the whole library, not against the part already redone,
and its suggestions do not depend on the order the links are taken in.

It is built from the stored float16 vectors on first use in the inference worker, then kept up to
date incrementally. A cheap aggregate (the stamp: how many analyses it holds, how many are done,
the latest finish and queue times) tells whether anything moved. Usually the rows finished since
account for the change: redone links get their new vectors in place (Library.replace_rows), new
links are added with their own tags read. When they do not (links queued again or deleted, or
another process's batch committed after a later one was read: ``reanalyze --jobs``), every
analysis's finish time is compared with the one the library read, and the rows that differ are
read; a link that left it rebuilds it. Tag memberships are read again only when the person's
memberships token (tagging/memberships.py: the shared cache's, or a summary read from the database
where there is none) says a link's tags changed.

A library returned by :func:`library_for` is changed in place by the next call for the same
person: the inference worker scores in one thread (Celery's solo pool, ``reanalyze``'s drain).
"""
from __future__ import annotations

import logging
import pickle
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from django.db.models import Count, Max, Q

from inference.config import FEATURE_DIM, TEXT_DIM
from snapshots.models import Link
from tagging import memberships
from tagging.analysis.vectors import unit, unpack_many
from tagging.models import Analysis
from tagging.scoring.lexical import unpack_terms
from tagging.scoring.index import Library

log = logging.getLogger(__name__)
IMAGE_INDEX_DIM = 256
# People whose index is kept in memory at once (least recently used dropped first).
KEPT_PEOPLE = 4
DONE = Analysis.Status.DONE


@dataclass(frozen=True)
class _Stamp:
    """The person's analyses in the library as the database had them at one moment."""
    kept: int  # analyses whose vectors stand (see the module's docstring)
    done: int  # of which done; the others are queued again
    last: datetime | None  # the latest finish time
    queued: datetime | None  # the latest queue time: moves when one of them is queued again


@dataclass
class _Rows:
    """Analyses read from the database, as the library keeps them, with each one's state as read."""
    link_ids: np.ndarray
    text: np.ndarray  # float16 unit vectors
    image: np.ndarray  # float16, projected (IMAGE_INDEX_DIM)
    terms: list
    finished: list  # finish times
    done: np.ndarray  # bool: done (else queued again, its earlier vectors kept)
    queued: datetime | None = None  # the latest queue time among them, where they were all read at once


@dataclass
class _Entry:
    stamp: _Stamp
    members_version: str
    library: Library
    finished: list  # each library row's finish time as last read
    done: np.ndarray  # each library row: done as last read


_lock = threading.Lock()
_entries: dict[int, _Entry] = {}


def library_for(user_id: int) -> Library:
    """The person's current index (built or brought up to date as needed)."""
    with _lock:
        entry = _entries.pop(user_id, None)
        version = memberships.current(user_id)  # fixed before anything is read under it
        stamp = _stamp(user_id)
        if entry is None or stamp.last is None or entry.stamp.last is None:
            entry = _fresh(user_id, version)
        else:
            moved = version != entry.members_version  # some link's tags changed
            if entry.stamp != stamp:
                entry = _updated(user_id, entry, stamp, version, moved)
            elif moved:
                entry = _with_memberships(user_id, entry, version)
        _keep(user_id, entry)
        return entry.library


def _keep(user_id: int, entry: _Entry) -> None:
    """Hold the person's entry as the most recently used, dropping the least recently used past
    KEPT_PEOPLE (under _lock)."""
    _entries[user_id] = entry
    while len(_entries) > KEPT_PEOPLE:
        _entries.pop(next(iter(_entries)))


def _fresh(user_id: int, version: str) -> _Entry:
    """A library built from every kept analysis, stamped with what was read (one query)."""
    rows = _load(_kept(user_id))
    log.debug("library of person %s built from %s analyses", user_id, len(rows.link_ids))
    stamp = _Stamp(len(rows.link_ids), int(rows.done.sum()), max(rows.finished, default=None), rows.queued)
    return _entry(user_id, stamp, version, rows)


def _entry(user_id: int, stamp: _Stamp, version: str, rows: _Rows, row_tags: list | None = None) -> _Entry:
    if row_tags is None:
        row_tags = _row_tags(user_id, rows.link_ids)
    library = Library(rows.link_ids, rows.text, rows.image, row_tags, rows.terms)
    return _Entry(stamp, version, library, list(rows.finished), rows.done.copy())


def _updated(user_id: int, entry: _Entry, stamp: _Stamp, version: str, moved: bool) -> _Entry:
    """The entry after analyses finished since its stamp: redone links in place, new ones added
    (``moved``: the memberships changed too, and are read again)."""
    old = entry.library
    # Bounded by the stamp's latest finish, so that what is read and the stamp describe one moment
    # unless a batch committed in between (then the counts below disagree).
    newer = _load(_kept(user_id).filter(finished_at__gt=entry.stamp.last, finished_at__lte=stamp.last))
    at = _positions(old, newer.link_ids)
    if not _explained(entry, stamp, newer, at):
        found = _changed(user_id, entry)
        if found is None:  # a link left the library (deleted, queued for a new snapshot): start over
            return _fresh(user_id, version)
        stamp, newer = found
        at = _positions(old, newer.link_ids)
    known = at >= 0
    if known.any():
        rows = at[known]
        shifted = old.replace_rows(rows, newer.text[known], newer.image[known],
                                   [t for t, k in zip(newer.terms, known) if k])
        _count_changed(old, shifted)
        for row, finished in zip(rows.tolist(), (f for f, k in zip(newer.finished, known) if k)):
            entry.finished[row] = finished
        entry.done[rows] = newer.done[known]
    entry = _Entry(stamp, entry.members_version, old, entry.finished, entry.done)
    if known.all():
        return _with_memberships(user_id, entry, version) if moved else entry
    added = ~known  # new links: appended, with only their own tags read (unless all are read again)
    new = _Rows(newer.link_ids[added], newer.text[added], newer.image[added],
                [t for t, k in zip(newer.terms, added) if k], [f for f, k in zip(newer.finished, added) if k],
                newer.done[added])
    if moved:
        everyone = _row_tags(user_id, np.concatenate([old.link_ids, new.link_ids]))
        kept, new_tags = everyone[:old.size], everyone[old.size:]
    else:
        kept, new_tags = old.row_tags, _row_tags(user_id, new.link_ids, only_these=True)
    if kept != old.row_tags:  # some link's tags changed: built again
        return _entry(user_id, stamp, version, _joined(_rows_of(entry), new), kept + new_tags)
    old.add_rows(new.link_ids, new.text, new.image, new_tags, new.terms)
    _count_changed(old, len(new.link_ids))
    return _Entry(stamp, version if moved else entry.members_version, old, entry.finished + new.finished,
                  np.concatenate([entry.done, new.done]))


def _positions(library: Library, link_ids: np.ndarray) -> np.ndarray:
    """Each link's row in the library, -1 where it has none."""
    row_of = library.row_of()
    return np.array([row_of.get(int(i), -1) for i in link_ids], np.int64)


def _explained(entry: _Entry, stamp: _Stamp, newer: _Rows, at: np.ndarray) -> bool:
    """Whether the rows finished since the entry's stamp account for the new stamp: its counts move
    by what they show, and no queue time is later than theirs. Otherwise analyses were queued again
    or deleted, or a batch with an earlier finish time committed after the stamp was read."""
    known = at >= 0
    done = entry.stamp.done + int(newer.done.sum()) - int(entry.done[at[known]].sum())
    queued = max([q for q in (entry.stamp.queued, newer.queued) if q is not None], default=None)
    return stamp.kept == entry.stamp.kept + int((~known).sum()) and stamp.done == done and stamp.queued == queued


# Rows that changed without the stamp showing it are read by id below this many, else the library
# is built again.
MAX_LATE_ROWS = 10_000


def _changed(user_id: int, entry: _Entry) -> tuple[_Stamp, _Rows] | None:
    """Every kept analysis's state compared with what the entry read (one query of ids and
    times): the stamp of that moment and the rows whose finish time differs or that are new; the
    done marks of the others are brought up to date. None when a link of the library is no longer
    kept, which only a rebuild takes out, or when too many rows changed."""
    current = list(_kept(user_id).values_list("link_id", "finished_at", "status", "queued_at"))
    row_of = entry.library.row_of()
    if not row_of.keys() <= {c[0] for c in current}:
        return None
    changed = []
    for link_id, finished, status, _ in current:
        row = row_of.get(link_id)
        if row is None or entry.finished[row] != finished:
            changed.append(link_id)
        else:
            entry.done[row] = status == DONE
    if len(changed) > MAX_LATE_ROWS:
        return None
    stamp = _Stamp(len(current), sum(c[2] == DONE for c in current), max((c[1] for c in current), default=None),
                   max((c[3] for c in current if c[3] is not None), default=None))
    return stamp, _load(_kept(user_id).filter(link_id__in=sorted(changed)))


def _rows_of(entry: _Entry) -> _Rows:
    library = entry.library
    return _Rows(library.link_ids, library.text, library.image, library.terms, entry.finished, entry.done)


def _joined(first: _Rows, second: _Rows) -> _Rows:
    return _Rows(np.concatenate([first.link_ids, second.link_ids]), np.concatenate([first.text, second.text]),
                 np.concatenate([first.image, second.image]), first.terms + second.terms,
                 first.finished + second.finished, np.concatenate([first.done, second.done]))


def _with_memberships(user_id: int, entry: _Entry, version: str) -> _Entry:
    """The entry with the tag memberships read again (after they changed, or when unversioned)."""
    old = entry.library
    row_tags = _row_tags(user_id, old.link_ids)
    if row_tags == old.row_tags:
        return _Entry(entry.stamp, version, old, entry.finished, entry.done)
    return _entry(user_id, entry.stamp, version, _rows_of(entry), row_tags)


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


def save(user_ids: list[int], path: Path) -> list[int]:
    """The libraries of these people, built (or brought up to date) and written to ``path`` for
    other processes to :func:`adopt`; returns whose were written. ``reanalyze --jobs N`` builds them
    once while its processes load their models, instead of each process reading every row."""
    entries = {}
    for user_id in user_ids[:KEPT_PEOPLE]:
        library_for(user_id)
        with _lock:
            entries[user_id] = _entries[user_id]
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        pickle.dump(entries, out, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)  # whole or absent: a process never reads half of it
    return list(entries)


def adopt(path: Path) -> list[int]:
    """The libraries :func:`save` wrote, kept as if this process had built them (people it already
    holds keep their own); returns whose were taken. Each is brought up to date from its stamp on
    its next use, like one built here. A missing file takes none: they are built on first use."""
    try:
        with path.open("rb") as stored:
            entries = pickle.load(stored)
    except FileNotFoundError:
        return []
    with _lock:
        taken = [user_id for user_id in entries if user_id not in _entries]
        for user_id in taken:
            _keep(user_id, entries[user_id])
    log.debug("libraries adopted: people %s", taken)
    return taken


def forget(user_id: int | None = None) -> None:
    with _lock:
        if user_id is None:
            _entries.clear()
        else:
            _entries.pop(user_id, None)


def _kept(user_id: int):
    """The person's analyses whose stored vectors stand: done, or queued again with them."""
    return Analysis.objects.filter(user_id=user_id, finished_at__isnull=False).exclude(status=Analysis.Status.FAILED)


def _stamp(user_id: int) -> _Stamp:
    got = _kept(user_id).aggregate(kept=Count("id"), done=Count("id", filter=Q(status=DONE)), last=Max("finished_at"),
                                   queued=Max("queued_at"))
    return _Stamp(got["kept"], got["done"], got["last"], got["queued"])


def _load(analyses) -> _Rows:
    rows = list(analyses.values_list("link_id", "text_vector", "image_feature", "term_vector", "finished_at", "status",
                                     "queued_at"))
    text = unpack_many([r[1] for r in rows], TEXT_DIM)
    image = unpack_many([r[2] for r in rows], FEATURE_DIM)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    # float16 for all links; the Library keeps float32 copies of the tagged ones it searches.
    return _Rows(ids, unit(text).astype(np.float16), project_image(image).astype(np.float16),
                 [unpack_terms(r[3]) for r in rows], [r[4] for r in rows],
                 np.fromiter((r[5] == DONE for r in rows), bool, count=len(rows)),
                 max((r[6] for r in rows if r[6] is not None), default=None))


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
