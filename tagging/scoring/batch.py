"""score_tags (score.py) for a whole batch of links at once: the same evidence, the same scores.

One link at a time, the scorer makes two matrix-vector products against the person's library
(each memory-bound: the whole matrix is read per link) and then a Python loop over every tag of
the vocabulary per link, for the tag names, prototypes, words and concepts. For a batch the
neighbour searches become one matrix product per kind (the library's matrices are read once per
batch; on the GPU where the models run there, tagging/scoring/neighbours.py), the name and
prototype similarities one more each, the words are looked up only for the tags whose first word
the page contains, and reasons are written only for the tags returned.
The results equal score_tags' up to float rounding (tests/tagging/test_scoring_batch.py).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from tagging.scoring import neighbours
from tagging.scoring.arrays import find_sorted, run_positions
from tagging.scoring.index import Library
from tagging.scoring.score import (CAP_IMAGE_NEIGHBOURS, CAP_LEXICAL_NEIGHBOURS, CAP_NAME, CAP_PROTOTYPE,
                                   CAP_TEXT_NEIGHBOURS, NEIGHBOURS, STAND_OUT, STAND_OUT_SCALE, TYPICAL_IMAGE,
                                   TYPICAL_LEXICAL, TYPICAL_TEXT, VECTOR_KINDS, Query, Scored, VocabTag,
                                   _concepts, _Evidence, _words, closeness, neighbour_reason)
from tagging.scoring.words import name_key

_KIND = {kind: i for i, kind in enumerate(VECTOR_KINDS)}
# Neighbour search in slices of the batch: a (slice x library) similarity matrix of at most this
# many values (64 MB), and at least MIN_SEARCH_ROWS queries a slice (a matrix product of a few
# rows against the library runs at half the speed of one of a few hundred: measured on two cores).
SEARCH_VALUES = 16_000_000
MIN_SEARCH_ROWS, MAX_SEARCH_ROWS = 64, 512


def search_rows(library_rows: int) -> int:
    return int(np.clip(SEARCH_VALUES // max(library_rows, 1), MIN_SEARCH_ROWS, MAX_SEARCH_ROWS))


@dataclass
class BatchEvidence:
    """Each query's vector evidence as (queries x tags x VECTOR_KINDS) strengths (0 = none), how
    many neighbours voted for each (for the reasons), and the word and concept pieces by (query, tag)."""
    strengths: np.ndarray
    voters: np.ndarray = None
    pieces: dict[tuple[int, int], list[tuple[float, str, str]]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        if self.voters is None:
            self.voters = np.zeros(self.strengths.shape, np.int16)


def gather_batch(queries: list[Query], library: Library, vocab: list[VocabTag], words: bool = True) -> BatchEvidence:
    """score.gather for every query at once (``words=False`` skips the word and concept pieces)."""
    position = {tag.id: j for j, tag in enumerate(vocab)}
    evidence = BatchEvidence(np.zeros((len(queries), len(vocab), len(VECTOR_KINDS))))
    row_of = library.row_of()
    itself = [row_of.get(q.link_id) for q in queries]
    with_text = [b for b, q in enumerate(queries) if q.text is not None]
    with_image = [b for b, q in enumerate(queries) if q.image is not None]
    if with_text:
        text = np.stack([queries[b].text for b in with_text]).astype(np.float32)
        _neighbour_votes(text, with_text, itself, library, library.text_matrix, library.text_rows, vocab, position,
                         evidence, CAP_TEXT_NEIGHBOURS, TYPICAL_TEXT, "text_neighbours")
        _prototypes(text, with_text, itself, library, vocab, position, evidence)
        _tag_names(text, with_text, vocab, evidence)
    if with_image:
        image = np.stack([queries[b].image for b in with_image]).astype(np.float32)
        _neighbour_votes(image, with_image, itself, library, library.image_matrix, library.image_rows, vocab,
                         position, evidence, CAP_IMAGE_NEIGHBOURS, TYPICAL_IMAGE, "image_neighbours")
    _lexical_votes(queries, itself, library, vocab, position, evidence)
    if words:
        _words_and_concepts(queries, vocab, evidence)
    return evidence


def score_batch(queries: list[Query], library: Library, vocab: list[VocabTag], combination=None,
                min_score: float | None = None) -> list[list[Scored]]:
    """score_tags for each query, best first; with ``min_score``, only the tags scoring at least that."""
    if not vocab:
        return [[] for _ in queries]
    evidence = gather_batch(queries, library, vocab)
    kept = np.where(evidence.strengths > 0.02, np.minimum(evidence.strengths, 0.99), 0.0)  # as _Evidence.add
    rest = np.ones(kept.shape[:2])  # the product of (1 - s) over word and concept pieces
    for (b, j), pieces in evidence.pieces.items():
        for strength, _, _ in pieces:
            rest[b, j] *= 1.0 - strength
    if combination is None:
        scores = 1.0 - np.prod(1.0 - kept, axis=2) * rest
    else:
        probability = 1.0 / (1.0 + np.exp(-(kept @ combination.weights + combination.bias)))
        scores = 1.0 - (1.0 - probability) * rest
    results = []
    for b in range(len(queries)):
        wanted = range(len(vocab)) if min_score is None else np.flatnonzero(scores[b] >= min_score)
        scored = [Scored(vocab[j].id, vocab[j].name, float(scores[b, j]), _reasons(b, j, vocab[j], kept, evidence))
                  for j in wanted]
        results.append(sorted(scored, key=lambda s: (-s.score, s.name.lower())))
    return results


def _reasons(b: int, j: int, tag: VocabTag, kept: np.ndarray, evidence: BatchEvidence) -> list[str]:
    pieces = list(evidence.pieces.get((b, j), ()))
    for kind, k in _KIND.items():
        strength = float(kept[b, j, k])
        if strength > 0:
            if kind == "prototype":
                reason = f"close to what links tagged {tag.name} are about"
            elif kind == "name":
                reason = f"the text is about {tag.name!r}"
            else:
                reason = neighbour_reason(kind, int(evidence.voters[b, j, k]), tag.name)
            pieces.append((strength, reason, kind))
    return [reason for s, reason, _ in sorted(pieces, reverse=True) if s >= 0.1]


def _neighbour_votes(vectors, batch_rows, itself, library, matrix, rows, vocab, position, evidence, cap, fallback,
                     kind) -> None:
    if len(rows) == 0:
        return
    found = neighbours.search(vectors, matrix, _own_columns(batch_rows, itself, rows), min(NEIGHBOURS, len(rows)),
                              fallback, search_rows(len(rows)))
    _votes(found, batch_rows, library, rows, vocab, position, evidence, cap, kind)


def _lexical_votes(queries, itself, library, vocab, position, evidence) -> None:
    """The word neighbours (TF-IDF over each page's stored top terms), as score.gather's."""
    index = library.lexical
    if index is None or not len(index.rows):
        return
    with_terms = [b for b, q in enumerate(queries) if q.terms is not None]
    step = search_rows(len(index.rows))
    for start in range(0, len(with_terms), step):
        part = with_terms[start:start + step]
        sims = index.similarities_many([queries[b].terms for b in part])
        found = neighbours.among(sims, _own_columns(part, itself, index.rows), min(NEIGHBOURS, len(index.rows)),
                                 TYPICAL_LEXICAL)
        _votes(found, part, library, index.rows, vocab, position, evidence, CAP_LEXICAL_NEIGHBOURS,
               "lexical_neighbours")


def _own_columns(part: list[int], itself: list[int | None], rows: np.ndarray) -> np.ndarray:
    """Each query's own column among the searched ``rows`` (a link in the library), or -1: a link
    is no evidence for itself."""
    own = np.array([-1 if itself[b] is None else itself[b] for b in part], np.int64)
    at, found = find_sorted(rows, own)
    return np.where((own >= 0) & found, at, -1)


def _votes(found: neighbours.Nearest, part, library, rows, vocab, position, evidence, cap, kind) -> None:
    """The nearest tagged links of each query of ``part`` vote for their tags, as score._votes does
    one query at a time, with whole-array operations."""
    k_index = _KIND[kind]
    tops, top_sims = found.columns, found.sims
    close = closeness(top_sims, found.typical[:, None])
    close[top_sims <= neighbours.OWN] = 0.0
    total = close.sum(axis=1)
    query, slot = np.nonzero((close > 0) & (total[:, None] > 0))
    if not len(query):
        return
    # Each voter's tags, as flat arrays (voter i carries tags[voter == i]).
    starts, tag_ids = library.row_tag_index()
    voter_rows = rows[tops[query, slot]]
    counts = starts[voter_rows + 1] - starts[voter_rows]
    voter = np.repeat(np.arange(len(query)), counts)
    column = _columns(tag_ids[run_positions(starts[voter_rows], counts)], vocab, position)
    voter, column = voter[column >= 0], column[column >= 0]
    if not len(voter):
        return
    pair = query[voter] * len(vocab) + column
    pairs, inverse = np.unique(pair, return_inverse=True)
    c = close[query[voter], slot[voter]]
    summed = np.bincount(inverse, weights=c, minlength=len(pairs))
    strongest = np.zeros(len(pairs))
    np.maximum.at(strongest, inverse, c)
    n = np.bincount(inverse, minlength=len(pairs))
    q, j = pairs // len(vocab), pairs % len(vocab)
    b = np.asarray(part, np.int64)[q]
    # score.vote_strength: the tag's share of the closeness, damped unless one voter is really close.
    evidence.strengths[b, j, k_index] = cap * (summed / total[q]) * np.minimum(1.0, strongest / 0.4)
    evidence.voters[b, j, k_index] = n


def _columns(tag_ids: np.ndarray, vocab: list[VocabTag], position: dict[int, int]) -> np.ndarray:
    """The vocabulary column of each tag id (-1 for a tag not in it)."""
    ids = np.fromiter(position, np.int64, count=len(position))
    columns = np.fromiter(position.values(), np.int64, count=len(position))
    order = np.argsort(ids)
    ids, columns = ids[order], columns[order]
    at, found = find_sorted(ids, tag_ids)
    out = np.full(len(tag_ids), -1, np.int64)
    out[found] = columns[at[found]]
    return out


def _relative(sims: np.ndarray) -> np.ndarray:
    """score._relative over each row of similarities (the uncapped 'stands out' part)."""
    sims = np.atleast_2d(sims)
    centre = np.median(sims, axis=1, keepdims=True) if sims.shape[1] >= 3 else np.full((len(sims), 1), TYPICAL_TEXT)
    return 1.0 / (1.0 + np.exp(-(sims - centre - STAND_OUT) / STAND_OUT_SCALE))


def _prototypes(text, batch_rows, itself, library, vocab, position, evidence) -> None:
    ids, sums = library.prototype_sums()
    wanted = np.array([int(i) in position for i in ids], bool)
    if not wanted.any():
        return
    ids, sums = ids[wanted], sums[wanted]
    columns = np.array([position[int(i)] for i in ids])
    matrix = sums.astype(np.float32)
    dots = (text @ matrix.T).astype(np.float64)
    norms = np.repeat(np.linalg.norm(matrix, axis=1).astype(np.float64)[None], len(batch_rows), axis=0)
    # Each query's own vector left out of its own tags' sums (a link in the library itself).
    column_of = {int(tag_id): c for c, tag_id in enumerate(ids)}
    pairs_q, pairs_c = [], []
    for i, b in enumerate(batch_rows):
        for tag_id in (library.row_tags[itself[b]] if itself[b] is not None else ()):
            c = column_of.get(tag_id)
            if c is not None:
                pairs_q.append(i), pairs_c.append(c)
    if pairs_q:
        q, c = np.array(pairs_q), np.array(pairs_c)
        own = library.text[[itself[batch_rows[i]] for i in pairs_q]].astype(np.float32)
        reduced = matrix[c] - own
        dots[q, c] = np.einsum("pd,pd->p", reduced, text[q]).astype(np.float64)
        norms[q, c] = np.linalg.norm(reduced, axis=1)
    valid = norms > 1e-6
    k_index = _KIND["prototype"]
    with np.errstate(divide="ignore", invalid="ignore"):
        sims = dots / norms
    everywhere = valid.all(axis=1)
    if everywhere.any():
        rows_all = np.flatnonzero(everywhere)
        strengths = CAP_PROTOTYPE * _relative(sims[rows_all])
        evidence.strengths[np.asarray(batch_rows)[rows_all][:, None], columns[None, :], k_index] = strengths
    for i in np.flatnonzero(~everywhere):
        if valid[i].any():
            evidence.strengths[batch_rows[i], columns[valid[i]], k_index] = CAP_PROTOTYPE * _relative(sims[i, valid[i]])[0]


def _tag_names(text, batch_rows, vocab, evidence) -> None:
    named = [j for j, tag in enumerate(vocab) if tag.name_vector is not None]
    if not named:
        return
    names = np.stack([vocab[j].name_vector for j in named]).astype(np.float32)
    sims = (text @ names.T).astype(np.float64)
    columns = np.array(named)
    evidence.strengths[np.asarray(batch_rows)[:, None], columns[None, :], _KIND["name"]] = CAP_NAME * _relative(sims)


def _words_and_concepts(queries: list[Query], vocab: list[VocabTag], evidence: BatchEvidence) -> None:
    """Word mentions for the tags whose first word is on the page at all; concepts by name key."""
    by_first: dict[str, list[int]] = defaultdict(list)
    by_key: dict[str, list[int]] = defaultdict(list)
    unkeyed = []
    for j, tag in enumerate(vocab):
        key = name_key(tag.name)
        by_key[key].append(j)
        if key:
            by_first[key.split()[0]].append(j)
        else:
            unkeyed.append(j)
    for b, query in enumerate(queries):
        page = query.page
        on_page = {*page.title, *page.url, *page.description, *page.body.keys(),
                   *(w for h in page.headings for w in h), *(k.split()[0] for k in page.keywords if k)}
        candidates = [j for word in on_page & by_first.keys() for j in by_first[word]] + unkeyed
        for j in candidates:
            found = _Evidence()
            _words(page, vocab[j], found)
            if found.strengths:
                evidence.pieces[(b, j)].extend(found.strengths)
        for concept, probability in query.concepts:
            if concept == "web site":
                continue
            for j in {*by_key.get(name_key(concept), ()), *by_key.get(name_key(concept.split()[-1]), ())}:
                found = _Evidence()
                _concepts([(concept, probability)], vocab[j], found)
                evidence.pieces[(b, j)].extend(found.strengths)
