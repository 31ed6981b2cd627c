"""Score a person's tags for one link from stored vectors and the page's words.

Each kind of evidence becomes a probability-like strength in [0, 1] for a tag, and the
strengths are combined by noisy-OR (the tag is right unless every piece of evidence is wrong),
so one strong reason is enough and several weak ones add up. The evidence:

* similar links: the person's nearest tagged links by text and by screenshot vote for their
  tags, each vote weighted by how much closer than typical that link is (screenshots of one
  site or one product look alike, so the screenshot is real evidence);
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

from tagging.suggest.words import PageWords, mentions, name_key

NEIGHBOURS = 10
# Caps of each evidence's strength: words and close text neighbours are the surest signals,
# a tag name alone or a look-alike screenshot less so.
CAP_TEXT_NEIGHBOURS = 0.9
CAP_IMAGE_NEIGHBOURS = 0.75
CAP_PROTOTYPE = 0.6
CAP_NAME = 0.6
CAP_CONCEPT = 0.8
# Similarity of unrelated pages, used until a person has enough links to measure their own:
# MiniLM texts on different subjects sit near 0.2, screenshots of any two web pages near 0.6.
TYPICAL_TEXT = 0.2
TYPICAL_IMAGE = 0.6
# How far above the vocabulary's median a tag-name or prototype similarity must be to count.
STAND_OUT = 0.12
STAND_OUT_SCALE = 0.03


@dataclass
class Library:
    """One person's analysed links: unit vectors (zero rows where an input was missing)."""

    link_ids: np.ndarray  # (N,) int64
    text: np.ndarray  # (N, D_text) float32
    image: np.ndarray  # (N, D_image) float32
    row_tags: list[tuple[int, ...]]  # tag ids per row

    @property
    def size(self) -> int:
        return len(self.link_ids)


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


@dataclass
class Scored:
    tag_id: int | None
    name: str
    score: float
    reasons: list[str]


@dataclass
class _Evidence:
    strengths: list[tuple[float, str]] = field(default_factory=list)

    def add(self, strength: float, reason: str) -> None:
        if strength > 0.02:
            self.strengths.append((min(float(strength), 0.99), reason))

    def score(self) -> float:
        return 1.0 - float(np.prod([1.0 - s for s, _ in self.strengths])) if self.strengths else 0.0

    def reasons(self) -> list[str]:
        return [reason for s, reason in sorted(self.strengths, reverse=True) if s >= 0.1]


def score_tags(query: Query, library: Library, vocab: list[VocabTag]) -> list[Scored]:
    """Every tag of the vocabulary scored for the query link, best first."""
    evidence = {tag.id: _Evidence() for tag in vocab}
    names = {tag.id: tag.name for tag in vocab}
    rows = _rows_without(library, query.link_id)
    if query.text is not None:
        _neighbour_votes(query.text, library.text, library, rows, evidence, names, CAP_TEXT_NEIGHBOURS,
                         "{n} similar {links} tagged {tag}", TYPICAL_TEXT)
        _prototypes(query.text, library.text, library, rows, evidence, names)
        _tag_names(query.text, vocab, evidence)
    if query.image is not None:
        _neighbour_votes(query.image, library.image, library, rows, evidence, names, CAP_IMAGE_NEIGHBOURS,
                         "looks like {n} {pages} tagged {tag}", TYPICAL_IMAGE)
    for tag in vocab:
        _words(query.page, tag, evidence[tag.id])
        _concepts(query.concepts, tag, evidence[tag.id])
    scored = [Scored(tag.id, tag.name, evidence[tag.id].score(), evidence[tag.id].reasons()) for tag in vocab]
    return sorted(scored, key=lambda s: (-s.score, s.name.lower()))


def _rows_without(library: Library, link_id: int) -> np.ndarray:
    """Rows of the library that may serve as evidence: tagged, and not the link itself."""
    tagged = np.fromiter((bool(t) for t in library.row_tags), bool, count=library.size)
    return np.flatnonzero(tagged & (library.link_ids != link_id))


def closeness(sims: np.ndarray, typical: float) -> np.ndarray:
    """How much closer than typical, in [0, 1]: 0 at the person's typical similarity, 1 at identical."""
    return np.clip((sims - typical) / max(1.0 - typical, 1e-6), 0.0, 1.0)


def typical_similarity(vector: np.ndarray, matrix: np.ndarray, rows: np.ndarray, fallback: float) -> float:
    """The median similarity of this vector to the person's links (a robust 'unrelated' level)."""
    sample = rows if len(rows) <= 2000 else rows[np.linspace(0, len(rows) - 1, 2000).astype(int)]
    present = sample[np.any(matrix[sample] != 0, axis=1)] if len(sample) else sample
    if len(present) < 5:
        return fallback  # too few links to tell
    return float(np.median(matrix[present] @ vector))


def _neighbour_votes(vector, matrix, library, rows, evidence, names, cap, template, fallback) -> None:
    if len(rows) == 0:
        return
    sims = matrix[rows] @ vector
    usable = np.any(matrix[rows] != 0, axis=1)
    sims = np.where(usable, sims, -1.0)
    k = min(NEIGHBOURS, len(rows))
    top = np.argpartition(-sims, k - 1)[:k]
    close = closeness(sims[top], typical_similarity(vector, matrix, rows, fallback))
    total = float(close.sum())
    if total <= 0:
        return
    votes: dict[int, list[float]] = {}
    for position, c in zip(top, close):
        if c <= 0:
            continue
        for tag_id in library.row_tags[rows[position]]:
            votes.setdefault(tag_id, []).append(float(c))
    for tag_id, cs in votes.items():
        if tag_id not in evidence:
            continue
        share = sum(cs) / total
        strength = cap * share * min(1.0, max(cs) / 0.4)
        n = len(cs)
        evidence[tag_id].add(strength, template.format(n=n, links="link is" if n == 1 else "links are",
                                                       pages="page" if n == 1 else "pages", tag=names[tag_id]))


def _prototypes(vector, matrix, library, rows, evidence, names) -> None:
    """Compare with the mean text vector of each tag's links; judged relative to the other tags."""
    members: dict[int, list[int]] = {}
    for row in rows:
        for tag_id in library.row_tags[row]:
            members.setdefault(tag_id, []).append(row)
    sims = {}
    for tag_id, tag_rows in members.items():
        if tag_id in evidence:
            centre = matrix[tag_rows].mean(axis=0)
            norm = float(np.linalg.norm(centre))
            if norm > 0:
                sims[tag_id] = float(centre @ vector) / norm
    for tag_id, strength in _relative(sims, CAP_PROTOTYPE).items():
        evidence[tag_id].add(strength, f"close to what links tagged {names[tag_id]} are about")


def _tag_names(vector, vocab, evidence) -> None:
    sims = {tag.id: float(tag.name_vector @ vector) for tag in vocab if tag.name_vector is not None}
    names = {tag.id: tag.name for tag in vocab}
    for tag_id, strength in _relative(sims, CAP_NAME).items():
        evidence[tag_id].add(strength, f"the text is about {names[tag_id]!r}")


def _relative(sims: dict[int, float], cap: float) -> dict[int, float]:
    """Strengths for the tags that stand out from the rest of the vocabulary.

    A tag counts when its similarity clears the vocabulary's median by a margin: MiniLM puts
    unrelated texts within a few hundredths of each other, a real match a tenth or more above.
    """
    if not sims:
        return {}
    values = np.array(list(sims.values()))
    centre = float(np.median(values)) if len(values) >= 3 else TYPICAL_TEXT
    return {tag_id: cap / (1.0 + float(np.exp(-(sim - centre - STAND_OUT) / STAND_OUT_SCALE)))
            for tag_id, sim in sims.items()}


def _words(page: PageWords, tag: VocabTag, evidence: _Evidence) -> None:
    found = mentions(page, tag.name)
    if found.title:
        evidence.add(0.55, f"title mentions {tag.name!r}")
    if found.url:
        evidence.add(0.5, f"URL mentions {tag.name!r}")
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
            evidence.add(CAP_CONCEPT * probability, f"the screenshot shows a {concept}")
