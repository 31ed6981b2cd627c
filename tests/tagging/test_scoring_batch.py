"""score_batch gives every link of a batch what score_tags gives it alone (synthetic vectors, words,
concepts, a learnt combination, links that are part of the library themselves)."""
import numpy as np
import pytest

from tagging.scoring.batch import score_batch
from tagging.scoring.calibration import learn
from tagging.scoring.lexical import term_counts
from tagging.scoring.index import Library
from tagging.scoring.score import Query, VocabTag, score_tags
from tagging.scoring.words import PageWords

pytestmark = pytest.mark.no_postgres


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def person(rng, links=400, tags=40):
    centres = unit(rng.standard_normal((tags, 48))).astype(np.float32)
    topic = rng.integers(0, tags, links)
    text = unit(centres[topic] + 0.7 * rng.standard_normal((links, 48))).astype(np.float32)
    image = unit(rng.standard_normal((links, 16))).astype(np.float32)
    text[5] = 0  # a link without text
    row_tags = [tuple({int(topic[i]), *map(int, rng.integers(0, tags, rng.integers(0, 3)))}) if i % 4 else ()
                for i in range(links)]
    names = ["python", "web frameworks", "cat", "postgres", "git"] + [f"topic{t}" for t in range(5, tags)]
    vocab = [VocabTag(t, names[t], unit(centres[t] + 0.3 * rng.standard_normal(48)).astype(np.float32)
                      if t % 7 else None) for t in range(tags)]
    terms = [None if i % 9 == 4 else page_terms(rng, int(topic[i])) for i in range(links)]  # some pages have no words
    return Library(np.arange(1000, 1000 + links), text, image, row_tags, terms), vocab, centres


def page_terms(rng, topic: int):
    """Words of the page's topic and a few of any other, as an analysis stores them."""
    own = [f"subject{topic}word{k}" for k in rng.integers(0, 12, 30)]
    other = [f"subject{t}word{k}" for t, k in zip(rng.integers(0, 40, 10), rng.integers(0, 12, 10))]
    return term_counts(" ".join(own + other))


def queries(rng, library, centres):
    page = PageWords.of("Python web frameworks compared", "https://blog.example.org/python/frameworks",
                        "about postgres", "python python web frameworks and cats " * 20,
                        headings=["Git basics"], keywords=["Postgres", "!!"])
    out = []
    for n in range(40):
        in_library = n % 3 == 0  # re-analysed links are in the library themselves
        link_id = 1000 + n * 7 if in_library else -n
        text = None if n % 11 == 5 else unit(centres[n % len(centres)] + 0.5 * rng.standard_normal(48)).astype(np.float32)
        image = None if n % 5 == 2 else unit(rng.standard_normal(16)).astype(np.float32)
        out.append(Query(link_id=link_id, text=text, image=image, page=page if n % 2 else PageWords(),
                         concepts=[("Persian cat", 0.7), ("web site", 0.9)] if n % 4 == 1 else [],
                         terms=None if n % 6 == 1 else page_terms(rng, n % len(centres))))
    return out


@pytest.mark.parametrize("learnt", [False, True])
def test_a_batch_scores_like_one_link_at_a_time(learnt):
    rng = np.random.default_rng(3)
    library, vocab, centres = person(rng)
    combination = learn(library, vocab) if learnt else None
    assert (combination is not None) == learnt
    batch = queries(rng, library, centres)
    together = score_batch(batch, library, vocab, combination)
    for query, got in zip(batch, together):
        alone = score_tags(query, library, vocab, combination)
        assert [s.tag_id for s in got] == [s.tag_id for s in alone]
        assert [s.score for s in got] == pytest.approx([s.score for s in alone], abs=1e-5)
        assert [s.reasons for s in got] == [s.reasons for s in alone]
    reasons = {r for scored in together for s in scored for r in s.reasons}
    for kind in ("similar links are tagged", "looks like", "title mentions", "the screenshot shows a Persian cat",
                 "the page's keywords name", "the text is about"):
        assert any(kind in r for r in reasons), kind  # every kind of evidence was exercised


def test_min_score_keeps_the_same_best_tags():
    rng = np.random.default_rng(4)
    library, vocab, centres = person(rng)
    batch = queries(rng, library, centres)
    everything, above = score_batch(batch, library, vocab), score_batch(batch, library, vocab, min_score=0.15)
    for all_tags, kept in zip(everything, above):
        assert kept == [s for s in all_tags if s.score >= 0.15]
    assert score_batch(batch, library, []) == [[] for _ in batch]


def test_the_batch_features_are_the_ones_calibration_learnt_from_one_link_at_a_time():
    from tagging.scoring.batch import gather_batch
    from tagging.scoring.score import gather
    rng = np.random.default_rng(5)
    library, vocab, centres = person(rng)
    batch = queries(rng, library, centres)
    strengths = gather_batch(batch, library, vocab, words=False).strengths
    kept = np.where(strengths > 0.02, np.minimum(strengths, 0.99), 0.0)
    for b, query in enumerate(batch):
        alone = gather(query, library, vocab)
        expected = np.stack([alone[tag.id].features() for tag in vocab])
        assert kept[b] == pytest.approx(expected, abs=1e-5)
    assert kept.any(axis=(0, 1)).all()  # every vector kind present
