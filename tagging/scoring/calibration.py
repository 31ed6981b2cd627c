"""What each kind of vector evidence is worth for one person, learnt from their own tagged links.

The fixed combination (noisy-OR of capped strengths) cannot know that, in one person's library,
sibling tags ("git-plumbing", "git-porcelain") all sit close to a page's text and name, while
only the nearest tagged links tell them apart. So once a person has enough tagged links, each
of a sample of them is scored as if it were new (left out of its own evidence), and a logistic
regression learns from the outcomes how much each kind of evidence (VECTOR_KINDS) predicts that
a tag is really on a link. Its output is a calibrated probability, which also makes the score
threshold and the auto-apply setting mean what they say. The words shared with tagged links
are learnt like the vectors (the library keeps each link's stored top terms); the tag's name in
a title, URL or heading and the image concepts are not (the library keeps no titles, URLs or
headings of old links): they are OR-ed onto the probability.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tagging.scoring.batch import gather_batch
from tagging.scoring.index import Library
from tagging.scoring.score import VECTOR_KINDS, Query, VocabTag
from tagging.scoring.words import PageWords

SAMPLE_LINKS = 120  # links scored to learn from: a few seconds at 100,000 links, far less below
MIN_LINKS = 20
MIN_EACH = 10  # positive and negative examples needed
L2 = 0.1


@dataclass(frozen=True)
class Combination:
    weights: np.ndarray
    bias: float
    examples: int

    def probability(self, features: np.ndarray) -> float:
        return float(1.0 / (1.0 + np.exp(-(features @ self.weights + self.bias))))


def learn(library: Library, vocab: list[VocabTag], seed: int = 0) -> Combination | None:
    """The person's combination, or None while they have too few tagged links to learn from."""
    rows = library.text_rows
    if len(rows) < MIN_LINKS or len(vocab) < 2:
        return None
    sample = np.random.default_rng(seed).choice(len(rows), size=min(SAMPLE_LINKS, len(rows)), replace=False)
    image_position = {int(r): i for i, r in enumerate(library.image_rows)}
    queries = []
    for position in sample:
        row = int(rows[position])
        image = image_position.get(row)
        queries.append(Query(link_id=int(library.link_ids[row]), text=library.text_matrix[position],
                             image=None if image is None else library.image_matrix[image], page=PageWords(),
                             terms=library.terms[row] if library.terms is not None else None))
    # The sample scored as one batch (tagging/scoring/batch.py); the features are each tag's
    # strongest piece of each vector kind, as _Evidence.features gives them.
    strengths = gather_batch(queries, library, vocab, words=False).strengths
    kept = np.where(strengths > 0.02, np.minimum(strengths, 0.99), 0.0)
    features = kept.reshape(-1, kept.shape[2])
    labels = [tag.id in set(library.row_tags[int(rows[position])]) for position in sample for tag in vocab]
    x, y = np.array(features), np.array(labels, dtype=float)
    if y.sum() < MIN_EACH or (1 - y).sum() < MIN_EACH:
        return None
    weights, bias = _logistic(x, y)
    return Combination(weights, bias, len(sample))


def _logistic(x: np.ndarray, y: np.ndarray, steps: int = 25) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (a handful of features)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    theta = np.zeros(design.shape[1])
    penalty = L2 * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-design @ theta))
        gradient = design.T @ (p - y) + penalty @ theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-6:
            break
    return theta[:-1], float(theta[-1])


def describe(combination: Combination) -> dict[str, float]:
    return {kind: round(float(w), 2) for kind, w in zip(VECTOR_KINDS, combination.weights)}


def combination_for(library: Library, vocab: list[VocabTag]) -> Combination | None:
    """The person's combination for this library and vocabulary, learnt once and kept on the library."""
    key = tuple(tag.id for tag in vocab)
    cached = library.combination
    if cached is None or cached[0] != key:
        cached = library.combination = (key, learn(library, vocab))
        library.changed_since_learnt = 0
    return cached[1]
