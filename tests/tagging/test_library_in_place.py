"""A library brought up to date in place (new vectors of re-analysed links, new links appended)
scores exactly as one built from scratch with the same links: the same tags, scores and reasons."""
import pickle

import numpy as np
import pytest

from tagging.scoring.batch import score_batch
from tagging.scoring.calibration import learn
from tagging.scoring.index import Library
from tests.tagging.test_scoring_batch import page_terms, person, queries, unit

pytestmark = pytest.mark.no_postgres


def same_scores(got, expected) -> None:
    for a, b in zip(got, expected):
        assert [s.tag_id for s in a] == [s.tag_id for s in b]
        assert [s.score for s in a] == pytest.approx([s.score for s in b], abs=1e-6)
        assert [s.reasons for s in a] == [s.reasons for s in b]


def test_replaced_and_added_rows_score_like_a_rebuild():
    rng = np.random.default_rng(11)
    whole, vocab, centres = person(rng, links=500)
    text = whole.text.astype(np.float16)
    image = whole.image.astype(np.float16)
    first = 420  # the library before: 420 links, then 80 more join
    kept = Library(whole.link_ids[:first].copy(), text[:first].copy(), image[:first].copy(), whole.row_tags[:first],
                   list(whole.terms[:first]))
    kept.prototype_sums()  # computed before the changes, so they must be moved
    kept.row_of(), kept.row_tag_index()
    batch = queries(rng, whole, centres)
    score_batch(batch, kept, vocab)  # used before it changes, as the worker does
    # A re-analysis: new vectors for 60 links (one loses its text vector, one link's terms change).
    redone = rng.choice(first, 60, replace=False)
    text[redone] = unit(text[redone].astype(np.float32) + 0.3 * rng.standard_normal((60, 48))).astype(np.float16)
    text[redone[0]] = 0
    image[redone] = unit(rng.standard_normal((60, 16))).astype(np.float16)
    terms = list(whole.terms)
    terms[int(redone[1])] = page_terms(rng, 3)
    kept.replace_rows(redone, text[redone], image[redone], [terms[int(r)] for r in redone])
    kept.add_rows(whole.link_ids[first:], text[first:], image[first:], whole.row_tags[first:], terms[first:])
    rebuilt = Library(whole.link_ids.copy(), text.copy(), image.copy(), whole.row_tags, list(terms))
    for got, expected in zip(kept.row_tag_index(), rebuilt.row_tag_index()):
        assert np.array_equal(got, expected)
    for name in ("link_ids", "text_rows", "image_rows"):
        assert np.array_equal(getattr(kept, name), getattr(rebuilt, name)), name
    assert np.array_equal(kept.text_matrix, rebuilt.text_matrix) and np.array_equal(kept.image_matrix,
                                                                                   rebuilt.image_matrix)
    assert kept.text_sums().keys() == rebuilt.text_sums().keys()
    for tag_id, total in rebuilt.text_sums().items():
        assert kept.text_sums()[tag_id] == pytest.approx(total, abs=1e-9)
    assert np.array_equal(kept.lexical.rows, rebuilt.lexical.rows)
    assert kept.lexical.similarities(*terms[7]) == pytest.approx(rebuilt.lexical.similarities(*terms[7]), abs=1e-6)
    same_scores(score_batch(batch, kept, vocab), score_batch(batch, rebuilt, vocab))
    combination = learn(rebuilt, vocab)
    same_scores(score_batch(batch, kept, vocab, combination), score_batch(batch, rebuilt, vocab, combination))


def test_a_pickled_library_scores_like_the_original_and_changes_in_place_like_it():
    """library.save hands libraries to reanalyze's processes as pickles without what is derived
    from the rows (the tagged links' float32 matrices, the word weights and dense block, each
    row's terms as separate arrays): what is made again on load scores the same, and the copy
    takes new vectors and new rows as the original does."""
    rng = np.random.default_rng(5)
    whole, vocab, centres = person(rng, links=300)
    text, image = whole.text.astype(np.float16), whole.image.astype(np.float16)
    terms = list(whole.terms)
    terms[3] = None  # a link without stored terms
    original = Library(whole.link_ids[:250].copy(), text[:250].copy(), image[:250].copy(), whole.row_tags[:250],
                       terms[:250])
    original.add_rows(whole.link_ids[250:270], text[250:270], image[250:270], whole.row_tags[250:270],
                      terms[250:270])  # its arrays now views of buffers with room to spare
    state = original.__getstate__()
    assert not {"text_matrix", "image_matrix", "_buffers"} & state.keys()
    assert not {"_weights", "_dense"} & original.lexical.__getstate__().keys()
    copy = pickle.loads(pickle.dumps(original))
    for name in ("link_ids", "text_rows", "image_rows", "text_matrix", "image_matrix"):
        assert np.array_equal(getattr(copy, name), getattr(original, name)), name
    assert copy.text_matrix.dtype == np.float32 and copy.terms[3] is None
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
               for a, b in zip(copy.terms, original.terms) if b is not None)
    assert copy.lexical.similarities(*terms[7]) == pytest.approx(original.lexical.similarities(*terms[7]), abs=1e-6)
    batch = queries(rng, whole, centres)
    same_scores(score_batch(batch, copy, vocab), score_batch(batch, original, vocab))
    redone = rng.choice(250, 40, replace=False)
    new_text = unit(text[redone].astype(np.float32) + 0.3 * rng.standard_normal((40, 48))).astype(np.float16)
    new_terms = [page_terms(rng, 3) for _ in redone]
    for library in (original, copy):
        library.replace_rows(redone, new_text, image[redone], new_terms)
        library.add_rows(whole.link_ids[270:], text[270:], image[270:], whole.row_tags[270:], terms[270:])
    assert np.array_equal(copy.text_matrix, original.text_matrix)
    same_scores(score_batch(batch, copy, vocab), score_batch(batch, original, vocab))


def test_rows_given_the_values_they_have_are_left_alone_and_rounding_is_no_move():
    rng = np.random.default_rng(5)
    whole, _, _ = person(rng, links=50)
    index = Library(whole.link_ids.copy(), whole.text.astype(np.float16), whole.image.astype(np.float16),
                    whole.row_tags, list(whole.terms))
    rows = np.arange(10)
    text, image = index.text[rows].copy(), index.image[rows].copy()
    assert index.replace_rows(rows, text, image, [index.terms[r] for r in rows]) == 0
    text[3] = unit(rng.standard_normal(text.shape[1])).astype(np.float16)
    assert index.replace_rows(rows, text, image, [index.terms[r] for r in rows]) == 1  # a new page
    assert np.array_equal(index.text[3], text[3])
    image[5] = np.nextafter(image[5], np.float16(1))  # the same page embedded again: its last bits
    assert index.replace_rows(rows, text, image, [index.terms[r] for r in rows]) == 0
    assert np.array_equal(index.image[5], image[5])  # still written: a rebuild would read these values
