"""Learning a person's combination of evidence from their own tagged links (pure functions)."""
import numpy as np
import pytest

from tagging.scoring.calibration import combination_for, describe, learn
from tagging.scoring.index import Library
from tagging.scoring.score import VECTOR_KINDS, Query, VocabTag, score_tags
from tagging.scoring.words import PageWords

pytestmark = pytest.mark.no_postgres
rng = np.random.default_rng(3)


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def library(n_per_tag: int, tags: int = 4, dims: int = 64):
    """Links of ``tags`` topics; text close within a topic, screenshots all alike (no signal)."""
    centres = unit(rng.standard_normal((tags, dims)))
    text = np.concatenate([unit(centres[t] + 0.4 * unit(rng.standard_normal((n_per_tag, dims)))) for t in range(tags)])
    image = unit(np.ones((len(text), 16)) + 0.05 * rng.standard_normal((len(text), 16)))
    row_tags = [(t + 1,) for t in range(tags) for _ in range(n_per_tag)]
    vocab = [VocabTag(t + 1, f"topic{t}", None) for t in range(tags)]
    return Library(np.arange(1000, 1000 + len(text)), text, image, row_tags), vocab, centres


def test_too_few_tagged_links_keep_the_fixed_combination():
    lib, vocab, _ = library(n_per_tag=3)
    assert learn(lib, vocab) is None


def test_the_evidence_that_predicts_gets_the_weight():
    lib, vocab, _ = library(n_per_tag=12)
    combination = learn(lib, vocab)
    weights = describe(combination)
    assert weights["text_neighbours"] > weights["image_neighbours"]
    assert combination.probability(np.zeros(len(VECTOR_KINDS))) < 0.2  # no evidence: unlikely


def test_learnt_scores_are_probabilities_that_rank_the_right_tag_first():
    lib, vocab, centres = library(n_per_tag=12)
    combination = combination_for(lib, vocab)
    assert combination_for(lib, vocab) is combination  # learnt once per library and vocabulary
    query = Query(link_id=1, text=unit(centres[2] + 0.3 * unit(rng.standard_normal(64))),
                  image=lib.image_matrix[0], page=PageWords())
    scored = score_tags(query, lib, vocab, combination)
    assert scored[0].name == "topic2" and 0 < scored[-1].score < scored[0].score <= 1
    assert scored[1].score < 0.5


def test_the_words_of_the_library_s_own_links_are_learnt_from():
    """Texts embed alike across tags; only the stored terms tell the tags apart, so the words get the weight."""
    from tagging.scoring.lexical import term_counts

    tags, n = 4, 10
    same = unit(rng.standard_normal(64))
    text = np.tile(same, (tags * n, 1)) + 0.01 * rng.standard_normal((tags * n, 64))
    image = unit(np.ones((tags * n, 16)))
    topic_words = [[f"t{t}w{w}" for w in range(40)] for t in range(tags)]
    terms = [term_counts(" ".join(rng.choice(topic_words[t], 25)) + " shared common words")
             for t in range(tags) for _ in range(n)]
    row_tags = [(t + 1,) for t in range(tags) for _ in range(n)]
    lib = Library(np.arange(2000, 2000 + tags * n), unit(text), image, row_tags, terms)
    vocab = [VocabTag(t + 1, f"topic{t}", None) for t in range(tags)]
    weights = describe(learn(lib, vocab))
    assert weights["lexical_neighbours"] > max(weights["text_neighbours"], weights["image_neighbours"], 0.5)
