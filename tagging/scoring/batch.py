"""score_tags (score.py) for a whole batch of links at once: the same evidence, the same scores.

One link at a time, the scorer makes two matrix-vector products against the person's library
(each memory-bound: the whole matrix is read per link) and then a Python loop over every tag of
the vocabulary per link, for the tag names, prototypes, words and concepts. For a batch the
neighbour searches become one matrix product per kind (the library's matrices are read once per
batch), the name and prototype similarities one more each, the words are looked up only for the
tags whose first word the page contains, and reasons are written only for the tags returned.
The results equal score_tags' up to float rounding (tests/tagging/test_scoring_batch.py).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from tagging.scoring.score import (CAP_IMAGE_NEIGHBOURS, CAP_LEXICAL_NEIGHBOURS, CAP_NAME, CAP_PROTOTYPE,
                                   CAP_TEXT_NEIGHBOURS, NEIGHBOURS, STAND_OUT, STAND_OUT_SCALE, TYPICAL_IMAGE,
                                   TYPICAL_LEXICAL, TYPICAL_TEXT, VECTOR_KINDS, Library, Query, Scored, VocabTag,
                                   _concepts, _Evidence, _words, closeness, tag_votes, vote_strength)
from tagging.scoring.words import name_key

_KIND = {kind: i for i, kind in enumerate(VECTOR_KINDS)}
# Neighbour search in slices of the batch: a (slice x library) similarity matrix stays a few MB.
SEARCH_ROWS = 64


@dataclass
class BatchEvidence:
    """Each query's vector evidence as (queries x tags x VECTOR_KINDS) strengths (0 = none), the
    neighbour reasons by (query, tag, kind), and the word and concept pieces by (query, tag)."""
    strengths: np.ndarray
    neighbour_reasons: dict[tuple[int, int, int], str] = field(default_factory=dict)
    pieces: dict[tuple[int, int], list[tuple[float, str, str]]] = field(default_factory=lambda: defaultdict(list))


def gather_batch(queries: list[Query], library: Library, vocab: list[VocabTag], words: bool = True) -> BatchEvidence:
    """score.gather for every query at once (``words=False`` skips the word and concept pieces)."""
    position = {tag.id: j for j, tag in enumerate(vocab)}
    evidence = BatchEvidence(np.zeros((len(queries), len(vocab), len(VECTOR_KINDS))))
    row_of = {int(link_id): row for row, link_id in enumerate(library.link_ids)}
    itself = [row_of.get(q.link_id) for q in queries]
    with_text = [b for b, q in enumerate(queries) if q.text is not None]
    with_image = [b for b, q in enumerate(queries) if q.image is not None]
    if with_text:
        text = np.stack([queries[b].text for b in with_text]).astype(np.float32)
        _neighbour_votes(text, with_text, itself, library, library.text_matrix, library.text_rows, vocab, position,
                         evidence, CAP_TEXT_NEIGHBOURS, "{n} similar {links} tagged {tag}", TYPICAL_TEXT,
                         "text_neighbours")
        _prototypes(text, with_text, itself, library, vocab, position, evidence)
        _tag_names(text, with_text, vocab, evidence)
    if with_image:
        image = np.stack([queries[b].image for b in with_image]).astype(np.float32)
        _neighbour_votes(image, with_image, itself, library, library.image_matrix, library.image_rows, vocab,
                         position, evidence, CAP_IMAGE_NEIGHBOURS, "looks like {n} {pages} tagged {tag}",
                         TYPICAL_IMAGE, "image_neighbours")
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
                reason = evidence.neighbour_reasons[(b, j, k)]
            pieces.append((strength, reason, kind))
    return [reason for s, reason, _ in sorted(pieces, reverse=True) if s >= 0.1]


def _typical(sims: np.ndarray, fallback: float) -> np.ndarray:
    """score.typical_similarity of each row (the same sample of columns)."""
    n = sims.shape[1]
    if n < 5:
        return np.full(len(sims), fallback)
    sample = sims if n <= 4000 else sims[:, np.linspace(0, n - 1, 4000).astype(int)]
    return np.median(sample, axis=1)


def _neighbour_votes(vectors, batch_rows, itself, library, matrix, rows, vocab, position, evidence, cap, template,
                     fallback, kind) -> None:
    if len(rows) == 0:
        return
    for start in range(0, len(batch_rows), SEARCH_ROWS):
        part = batch_rows[start:start + SEARCH_ROWS]
        sims = vectors[start:start + SEARCH_ROWS] @ matrix.T
        _votes(sims, part, itself, library, rows, vocab, position, evidence, cap, template, fallback, kind)


def _lexical_votes(queries, itself, library, vocab, position, evidence) -> None:
    """The word neighbours (TF-IDF over each page's stored top terms), as score.gather's."""
    index = library.lexical
    if index is None or not len(index.rows):
        return
    with_terms = [b for b, q in enumerate(queries) if q.terms is not None]
    for start in range(0, len(with_terms), SEARCH_ROWS):
        part = with_terms[start:start + SEARCH_ROWS]
        sims = np.stack([index.similarities(*queries[b].terms) for b in part])
        _votes(sims, part, itself, library, index.rows, vocab, position, evidence, CAP_LEXICAL_NEIGHBOURS,
               "uses the words of {n} {pages} tagged {tag}", TYPICAL_LEXICAL, "lexical_neighbours")


def _votes(sims, part, itself, library, rows, vocab, position, evidence, cap, template, fallback, kind) -> None:
    """The nearest tagged links of each query of ``part`` vote for their tags (``sims``: one row per query)."""
    k_index = _KIND[kind]
    compact = {int(r): p for p, r in enumerate(rows)}
    names = {tag.id: tag.name for tag in vocab}
    k = min(NEIGHBOURS, len(rows))
    typical = _typical(sims, fallback)
    for i, b in enumerate(part):
        own = compact.get(itself[b]) if itself[b] is not None else None
        if own is not None:
            sims[i, own] = -2.0  # a link is no evidence for itself
    tops = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # row by row as score.py's, in the same order
    for i, b in enumerate(part):
        top = tops[i][sims[i, tops[i]] > -2.0]
        close = closeness(sims[i, top], float(typical[i]))
        total = float(close.sum())
        if total <= 0:
            continue
        for tag_id, cs in tag_votes(top, close, rows, library).items():
            j = position.get(tag_id)
            if j is None:
                continue
            strength = vote_strength(cs, total, cap)
            n = len(cs)
            evidence.strengths[b, j, k_index] = strength
            evidence.neighbour_reasons[(b, j, k_index)] = template.format(
                n=n, links="link is" if n == 1 else "links are", pages="page" if n == 1 else "pages",
                tag=names[tag_id])


def _relative(sims: np.ndarray) -> np.ndarray:
    """score._relative over one query's similarities (the uncapped 'stands out' part)."""
    centre = float(np.median(sims)) if len(sims) >= 3 else TYPICAL_TEXT
    return 1.0 / (1.0 + np.exp(-(sims - centre - STAND_OUT) / STAND_OUT_SCALE))


def _prototypes(text, batch_rows, itself, library, vocab, position, evidence) -> None:
    sums = [(position[tag_id], total) for tag_id, total in library.text_sums().items() if tag_id in position]
    if not sums:
        return
    columns = np.array([j for j, _ in sums])
    matrix = np.stack([total for _, total in sums]).astype(np.float32)
    norms = np.linalg.norm(matrix, axis=1)
    dots = text @ matrix.T
    k_index = _KIND["prototype"]
    order = {j: i for i, j in enumerate(columns)}
    for i, b in enumerate(batch_rows):
        row_dots, row_norms = dots[i].astype(np.float64), norms.astype(np.float64)
        own_tags = library.row_tags[itself[b]] if itself[b] is not None else ()
        if own_tags:  # this link's own vector left out of its tags' sums
            own = library.text_of(itself[b])
            for tag_id in own_tags:
                if tag_id in position and position[tag_id] in order:
                    c = order[position[tag_id]]
                    reduced = matrix[c] - own
                    row_dots[c], row_norms[c] = float(reduced @ text[i]), float(np.linalg.norm(reduced))
        valid = row_norms > 1e-6
        if valid.any():
            evidence.strengths[b, columns[valid], k_index] = CAP_PROTOTYPE * _relative(row_dots[valid] / row_norms[valid])


def _tag_names(text, batch_rows, vocab, evidence) -> None:
    named = [j for j, tag in enumerate(vocab) if tag.name_vector is not None]
    if not named:
        return
    names = np.stack([vocab[j].name_vector for j in named]).astype(np.float32)
    sims = text @ names.T
    columns = np.array(named)
    for i, b in enumerate(batch_rows):
        evidence.strengths[b, columns, _KIND["name"]] = CAP_NAME * _relative(sims[i].astype(np.float64))


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
