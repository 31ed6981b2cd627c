"""Score a person's tags for one link from stored vectors and the page's words.

Each kind of evidence becomes a probability-like strength in [0, 1] for a tag, and the
strengths are combined by noisy-OR (the tag is right unless every piece of evidence is wrong),
so one strong reason is enough and several weak ones add up. The evidence:

* similar links: the person's nearest tagged links by text, by screenshot and by the words the
  pages share (TF-IDF, scoring/lexical.py) vote for their tags, each vote weighted by how much
  closer than typical that link is (screenshots of one site or one product look alike, so the
  screenshot is real evidence; the words reach past the start of the page the text model reads);
* prototypes: the mean vector of the links carrying a tag, compared with this link's;
* the tag's own name, embedded like text (the zero-shot evidence when no link has the tag yet);
* words: the tag (or a variant) in the title, URL, description or body text;
* ImageNet concepts of the screenshot, for photo pages and image links.
Similarities are judged against this person's own distribution (how close links typically
are), never against fixed cut-offs, because text and image vectors live on different scales.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tagging.scoring.index import Library
from tagging.scoring.words import PageWords, mentions, name_key

NEIGHBOURS = 10
# Caps of each evidence's strength: words and close text neighbours are the surest signals,
# a tag name alone or a look-alike screenshot less so.
CAP_TEXT_NEIGHBOURS = 0.9
CAP_IMAGE_NEIGHBOURS = 0.75
CAP_LEXICAL_NEIGHBOURS = 0.75
CAP_PROTOTYPE = 0.6
CAP_NAME = 0.6
CAP_CONCEPT = 0.8
# Similarity of unrelated pages, used until a person has enough links to measure their own:
# MiniLM texts on different subjects sit near 0.2, screenshots of any two web pages near 0.6.
TYPICAL_TEXT = 0.2
TYPICAL_IMAGE = 0.6
TYPICAL_LEXICAL = 0.05  # TF-IDF cosine of pages on different subjects
# How far above the vocabulary's median a tag-name or prototype similarity must be to count.
STAND_OUT = 0.12
STAND_OUT_SCALE = 0.03


@dataclass
class VocabTag:
    id: int
    name: str
    name_vector: np.ndarray | None  # the tag name embedded as text


@dataclass
class Query:
    link_id: int
    text: np.ndarray | None
    image: np.ndarray | None
    page: PageWords
    concepts: list[tuple[str, float]] = field(default_factory=list)
    terms: tuple[np.ndarray, np.ndarray] | None = None  # the page's top terms (ids, counts)


@dataclass
class Scored:
    tag_id: int | None
    name: str
    score: float
    reasons: list[str]


# Evidence read from the stored vectors; a person's own links can teach how much each is worth
# (scoring/calibration.py). Words and image concepts are judged on their own.
VECTOR_KINDS = ("text_neighbours", "image_neighbours", "lexical_neighbours", "prototype", "name")


@dataclass
class _Evidence:
    strengths: list[tuple[float, str, str]] = field(default_factory=list)

    def add(self, strength: float, reason: str, kind: str = "words") -> None:
        if strength > 0.02:
            self.strengths.append((min(float(strength), 0.99), reason, kind))

    def features(self) -> np.ndarray:
        """The strongest piece of each vector kind, in VECTOR_KINDS order."""
        best = dict.fromkeys(VECTOR_KINDS, 0.0)
        for strength, _, kind in self.strengths:
            if kind in best:
                best[kind] = max(best[kind], strength)
        return np.array([best[k] for k in VECTOR_KINDS])

    def score(self, combination=None) -> float:
        """Noisy-OR of every piece; with a person's combination, its probability stands in for the
        vector pieces and the words and concepts are OR-ed onto it."""
        if combination is None:
            return _noisy_or(s for s, _, _ in self.strengths)
        rest = _noisy_or(s for s, _, kind in self.strengths if kind not in VECTOR_KINDS)
        return 1.0 - (1.0 - combination.probability(self.features())) * (1.0 - rest)

    def reasons(self) -> list[str]:
        return [reason for s, reason, _ in sorted(self.strengths, reverse=True) if s >= 0.1]


def _noisy_or(strengths) -> float:
    return 1.0 - float(np.prod([1.0 - s for s in strengths] or [1.0]))


def score_tags(query: Query, library: Library, vocab: list[VocabTag], combination=None) -> list[Scored]:
    """Every tag of the vocabulary scored for the query link, best first."""
    evidence = gather(query, library, vocab)
    scored = [Scored(tag.id, tag.name, evidence[tag.id].score(combination), evidence[tag.id].reasons())
              for tag in vocab]
    return sorted(scored, key=lambda s: (-s.score, s.name.lower()))


def gather(query: Query, library: Library, vocab: list[VocabTag]) -> dict[int, _Evidence]:
    """Each tag's pieces of evidence for the query link."""
    evidence = {tag.id: _Evidence() for tag in vocab}
    names = {tag.id: tag.name for tag in vocab}
    itself = np.flatnonzero(library.link_ids == query.link_id)
    if query.text is not None:
        _neighbour_votes(query.text, library.text_matrix, library.text_rows, itself, library, evidence, names,
                         CAP_TEXT_NEIGHBOURS, TYPICAL_TEXT, "text_neighbours")
        _prototypes(query.text, library, itself, evidence, names)
        _tag_names(query.text, vocab, evidence)
    if query.image is not None:
        _neighbour_votes(query.image, library.image_matrix, library.image_rows, itself, library, evidence, names,
                         CAP_IMAGE_NEIGHBOURS, TYPICAL_IMAGE, "image_neighbours")
    if query.terms is not None and library.lexical is not None and len(library.lexical.rows):
        sims = library.lexical.similarities(*query.terms)
        _votes(sims, library.lexical.rows, itself, library, evidence, names, CAP_LEXICAL_NEIGHBOURS,
               TYPICAL_LEXICAL, "lexical_neighbours")
    for tag in vocab:
        _words(query.page, tag, evidence[tag.id])
        _concepts(query.concepts, tag, evidence[tag.id])
    return evidence


def closeness(sims: np.ndarray, typical) -> np.ndarray:
    """How much closer than typical, in [0, 1]: 0 at the person's typical similarity, 1 at identical
    (``typical`` a number, or an array that broadcasts against ``sims``: one per query of a batch)."""
    return np.clip((sims - typical) / np.maximum(1.0 - typical, 1e-6), 0.0, 1.0)


# The typical similarity is the median over at most this many links, evenly spread; with fewer
# than MIN_TYPICAL links there are too few to tell (the caller's fallback level).
TYPICAL_SAMPLE = 4000
MIN_TYPICAL = 5
OWN = -2.0  # the similarity a link gets to itself in a search: below any other, it never votes


def typical_sample(n: int) -> np.ndarray:
    """The positions of the links the typical similarity is taken over, of ``n`` (n > TYPICAL_SAMPLE)."""
    return np.linspace(0, n - 1, TYPICAL_SAMPLE).astype(int)


def typical_similarity(sims: np.ndarray, fallback: float) -> float:
    """The median similarity to the person's links (a robust 'unrelated' level), from a sample."""
    if len(sims) < MIN_TYPICAL:
        return fallback  # too few links to tell
    sample = sims if len(sims) <= TYPICAL_SAMPLE else sims[typical_sample(len(sims))]
    return float(np.median(sample))


def _neighbour_votes(vector, matrix, rows, itself, library, evidence, names, cap, fallback, kind) -> None:
    """The nearest tagged links vote for their tags, weighted by how much closer than typical they are."""
    if len(rows) == 0:
        return
    _votes(matrix @ vector.astype(np.float32), rows, itself, library, evidence, names, cap, fallback, kind)


_REASONS = {"text_neighbours": "{n} similar {links} tagged {tag}",
            "image_neighbours": "looks like {n} {pages} tagged {tag}",
            "lexical_neighbours": "uses the words of {n} {pages} tagged {tag}"}


def neighbour_reason(kind: str, n: int, tag_name: str) -> str:
    """The reason shown for ``n`` neighbours of this kind carrying the tag."""
    return _REASONS[kind].format(n=n, links="link is" if n == 1 else "links are",
                                 pages="page" if n == 1 else "pages", tag=tag_name)


# nearest() selects among the values at least the k-th largest maximum of groups of this many
# columns: a few comparisons a value instead of a selection over all of them.
NEAREST_BLOCK = 64
# A row whose floor more than this many times k groups reach is searched on its own (see nearest).
CROWDED_GROUPS = 4


def nearest(sims: np.ndarray, k: int) -> np.ndarray:
    """The columns of the ``k`` largest values of each row of ``sims`` (2-d), largest first; equal
    values in column order, so one query scored alone and in a batch pick the same neighbours."""
    rows, n = sims.shape
    k = min(k, n)
    if k == 0:
        return np.zeros((rows, 0), np.int64)
    groups = n // NEAREST_BLOCK
    if n < 4 * NEAREST_BLOCK or groups < k:
        return np.argsort(-sims, axis=1, kind="stable")[:, :k]
    maxima = _group_maxima(sims, groups)
    # k groups have a maximum at least this large, so each row has at least k candidates, and
    # every value among its k largest is at least this large.
    floor = np.partition(maxima, groups - k, axis=1)[:, groups - k]
    reaching = maxima >= floor[:, None]
    # A value most of a row shares (the 0.0 of every page that has no word in common with the
    # query) makes every group a candidate: such a row is searched on its own, where only its
    # first k values at the floor can be among its k largest.
    crowded = reaching.sum(axis=1) > CROWDED_GROUPS * k
    parts = [_in_groups(sims, reaching & ~crowded[:, None], ~crowded, floor, groups)]
    parts += [_in_row(sims[r], r, floor[r], k) for r in np.flatnonzero(crowded)]
    row, column, values = (np.concatenate(part) for part in zip(*parts))
    return column[k_largest_per_row(row, column, values, rows, k)]


def k_largest_per_row(row: np.ndarray, column: np.ndarray, values: np.ndarray, rows: int, k: int) -> np.ndarray:
    """Of candidates (row, column, value), at least k for each of ``rows`` rows: the positions of
    each row's k largest values, largest first and equal ones in column order, as (rows x k)."""
    order = np.lexsort((column, -values, row))
    first = np.searchsorted(row[order], np.arange(rows))
    return order[first[:, None] + np.arange(k)]


def _group_maxima(sims: np.ndarray, groups: int) -> np.ndarray:
    """The maximum of each row's group g: the columns g, g + groups, g + 2 groups, ... (below
    groups x NEAREST_BLOCK). An elementwise maximum of NEAREST_BLOCK contiguous slices, several
    times faster than a maximum over each run of adjacent columns."""
    maxima = sims[:, :groups].copy()
    for start in range(groups, groups * NEAREST_BLOCK, groups):
        np.maximum(maxima, sims[:, start:start + groups], out=maxima)
    return maxima


def _in_groups(sims: np.ndarray, reaching: np.ndarray, searched: np.ndarray, floor: np.ndarray,
               groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) of the values at least their row's floor in the ``reaching`` groups
    and, for the ``searched`` rows, in the columns past the last whole group."""
    row, group = np.nonzero(reaching)
    column = (group[:, None] + groups * np.arange(NEAREST_BLOCK)).ravel()
    row = np.repeat(row, NEAREST_BLOCK)
    rest = np.arange(groups * NEAREST_BLOCK, sims.shape[1])
    if len(rest):
        others = np.flatnonzero(searched)
        row = np.concatenate([row, np.repeat(others, len(rest))])
        column = np.concatenate([column, np.tile(rest, len(others))])
    values = sims[row, column]
    kept = values >= floor[row]
    return row[kept], column[kept], values[kept]


def _in_row(values: np.ndarray, row: int, floor: float, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) of the values above the floor and the first k at it, in one row."""
    column = np.concatenate([np.flatnonzero(values > floor), np.flatnonzero(values == floor)[:k]])
    return np.full(len(column), row), column, values[column]


def _votes(sims, rows, itself, library, evidence, names, cap, fallback, kind) -> None:
    """Votes of the tagged links whose similarities to the query are ``sims`` (one per row of ``rows``)."""
    typical = typical_similarity(sims, fallback)
    if len(itself):
        sims[np.isin(rows, itself)] = OWN  # a link is no evidence for itself
    k = min(NEIGHBOURS, len(rows))
    top = nearest(sims[None], k)[0]
    top = top[sims[top] > OWN]
    close = closeness(sims[top], typical)
    total = float(close.sum())
    if total <= 0:
        return
    for tag_id, cs in tag_votes(top, close, rows, library).items():
        if tag_id not in evidence:
            continue
        strength = vote_strength(cs, total, cap)
        evidence[tag_id].add(strength, neighbour_reason(kind, len(cs), names[tag_id]), kind)


def tag_votes(top: np.ndarray, close: np.ndarray, rows: np.ndarray, library: Library) -> dict[int, list[float]]:
    """tag -> the closeness of each of the nearest links (library rows ``rows[top]``) carrying it."""
    votes: dict[int, list[float]] = {}
    for position, c in zip(top, close):
        if c <= 0:
            continue
        for tag_id in library.row_tags[rows[position]]:
            votes.setdefault(tag_id, []).append(float(c))
    return votes


def vote_strength(closeness_of_voters: list[float], total: float, cap: float) -> float:
    """The tag's share of the neighbours' closeness, damped unless one voter is really close."""
    return cap * (sum(closeness_of_voters) / total) * min(1.0, max(closeness_of_voters) / 0.4)


def _prototypes(vector, library, itself, evidence, names) -> None:
    """Compare with the mean text vector of each tag's links (the link itself left out); judged
    relative to the other tags."""
    own_tags = set(library.row_tags[itself[0]]) if len(itself) else set()
    own = library.text_of(itself[0]) if own_tags else None
    sims = {}
    for tag_id, total in library.text_sums().items():
        if tag_id not in evidence:
            continue
        if tag_id in own_tags:
            total = total - own
        norm = float(np.linalg.norm(total))
        if norm > 1e-6:
            sims[tag_id] = float(total @ vector) / norm
    for tag_id, strength in _relative(sims, CAP_PROTOTYPE).items():
        evidence[tag_id].add(strength, f"close to what links tagged {names[tag_id]} are about", "prototype")


def _tag_names(vector, vocab, evidence) -> None:
    """Zero-shot: the page's text against each tag's name embedded like text."""
    sims = {tag.id: float(tag.name_vector @ vector) for tag in vocab if tag.name_vector is not None}
    names = {tag.id: tag.name for tag in vocab}
    for tag_id, strength in _relative(sims, CAP_NAME).items():
        evidence[tag_id].add(strength, f"the text is about {names[tag_id]!r}", "name")


def _relative(sims: dict[int, float], cap: float) -> dict[int, float]:
    """Strengths for the tags that stand out from the rest of the vocabulary.

    A tag counts when its similarity clears the vocabulary's median by a margin: MiniLM puts
    unrelated texts within a few hundredths of each other, a real match a tenth or more above.
    """
    if not sims:
        return {}
    values = np.array(list(sims.values()))
    centre = float(np.median(values)) if len(values) >= 3 else TYPICAL_TEXT
    out = {}
    for tag_id, sim in sims.items():
        stands_out = 1.0 / (1.0 + float(np.exp(-(sim - centre - STAND_OUT) / STAND_OUT_SCALE)))
        out[tag_id] = cap * stands_out
    return out


def _words(page: PageWords, tag: VocabTag, evidence: _Evidence) -> None:
    found = mentions(page, tag.name)
    if found.title:
        evidence.add(0.55, f"title mentions {tag.name!r}")
    if found.url:
        evidence.add(0.5, f"URL mentions {tag.name!r}")
    if found.keyword:
        evidence.add(0.5, f"the page's keywords name {tag.name!r}")
    if found.heading and not found.title:
        evidence.add(0.45, f"a heading mentions {tag.name!r}")
    if found.description:
        evidence.add(0.35, f"description mentions {tag.name!r}")
    if found.body_count >= 2:
        density = found.body_count * 1000 / max(page.body_words, 1)
        evidence.add(min(0.45, 0.1 + 0.03 * density), f"text mentions {tag.name!r} {found.body_count} times")


def _concepts(concepts: list[tuple[str, float]], tag: VocabTag, evidence: _Evidence) -> None:
    key = name_key(tag.name)
    for concept, probability in concepts:
        # "Persian cat" counts for a tag "cat" or "cats"; "web site" is no evidence of anything.
        if concept != "web site" and key in (name_key(concept), name_key(concept.split()[-1])):
            evidence.add(CAP_CONCEPT * probability, f"the screenshot shows a {concept}", "concept")
