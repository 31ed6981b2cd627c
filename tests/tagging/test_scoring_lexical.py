"""Word similarity between links (TF-IDF over stored top terms) and its place in the scoring."""
import numpy as np
import pytest

from tagging.scoring.lexical import TERMS_KEPT, LexicalIndex, pack_terms, term_counts, unpack_terms
from tagging.scoring.index import Library
from tagging.scoring.score import Query, VocabTag, score_tags
from tagging.scoring.words import PageWords

pytestmark = pytest.mark.no_postgres

CATALOG = "pg_class catalog column oid relname relkind relnamespace tuples pages reltuples relpages catalog oid"
VIEW = "pg_stats view statistics planner histogram most_common_vals null_frac view correlation planner"
COMMAND = "SELECT statement retrieves rows FROM clause WHERE clause ORDER BY LIMIT OFFSET syntax statement"
FILLER = "postgresql documentation chapter reference describes version"


def test_terms_are_counted_singular_without_function_words_and_round_trip():
    ids, counts = term_counts("The tables and the table", "of tables")
    assert len(ids) == 1 and counts.tolist() == [3.0]  # table x3; "the", "and", "of" dropped
    back = unpack_terms(pack_terms(ids, counts))
    assert back is not None and back[0].tolist() == ids.tolist() and back[1].tolist() == counts.tolist()
    assert unpack_terms(b"") is None and unpack_terms(b"\x00" * 7) is None


def test_only_the_most_frequent_terms_are_kept():
    text = " ".join(f"word{n} " * (1 + n % 3) for n in range(TERMS_KEPT * 2))
    ids, counts = term_counts(text)
    assert len(ids) == TERMS_KEPT and counts.min() >= 2
    assert np.all(np.diff(ids.astype(np.int64)) > 0)  # sorted, for the index's search


def test_pages_sharing_rare_words_are_closest_and_common_words_weigh_little():
    docs = [CATALOG, VIEW, COMMAND, CATALOG.replace("pg_class", "pg_index")]
    terms = [term_counts(FILLER, d) for d in docs]
    index = LexicalIndex(terms, np.array([0, 1, 2]))
    sims = index.similarities(*terms[3])
    assert sims.argmax() == 0 and sims[0] > 0.6 and max(sims[1], sims[2]) < 0.2
    filler_only = index.similarities(*term_counts(FILLER))
    assert filler_only.max() < sims[0] / 3  # words on every page count for little (IDF)


def test_unsearched_rows_count_for_document_frequency_only():
    terms = [term_counts(CATALOG), term_counts(VIEW), term_counts(CATALOG)]
    index = LexicalIndex(terms, np.array([1, 2]))
    assert index.rows.tolist() == [1, 2]
    assert index.similarities(*term_counts(CATALOG)).argmax() == 1  # position of row 2


def _library(with_terms: bool) -> tuple[Library, list[VocabTag]]:
    """Two sibling tags whose links' text vectors are identical: only their words tell them apart."""
    rng = np.random.default_rng(3)
    same = rng.standard_normal(16)
    same /= np.linalg.norm(same)
    docs = [CATALOG, CATALOG.replace("pg_class", "pg_index"), CATALOG.replace("pg_class", "pg_proc"),
            VIEW, VIEW.replace("pg_stats", "pg_locks"), VIEW.replace("pg_stats", "pg_roles")]
    terms = [term_counts(FILLER, d) for d in docs] if with_terms else None
    library = Library(np.arange(10, 16), np.tile(same, (6, 1)), np.zeros((6, 8)), [(1,)] * 3 + [(2,)] * 3, terms)
    return library, [VocabTag(1, "system-catalogs", None), VocabTag(2, "system-views", None)]


def test_shared_words_separate_tags_whose_texts_embed_alike():
    library, vocab = _library(with_terms=True)
    page = "pg_attribute catalog column oid attname atttypid relkind catalog"
    query = Query(link_id=1, text=library.text_of(0), image=None, page=PageWords(), terms=term_counts(FILLER, page))
    scored = score_tags(query, library, vocab)
    assert scored[0].name == "system-catalogs" and scored[0].score > scored[1].score + 0.05
    assert not any(r.startswith("uses the words of") for r in scored[1].reasons)
    assert any(r.startswith("uses the words of") for r in scored[0].reasons)
    # Without the stored terms the two tags are tied: the text neighbours cannot tell them apart.
    plain, _ = _library(with_terms=False)
    tied = score_tags(Query(link_id=1, text=plain.text_of(0), image=None, page=PageWords()), plain, vocab)
    assert abs(tied[0].score - tied[1].score) < 0.05


def test_a_link_is_no_word_evidence_for_itself():
    library, vocab = _library(with_terms=True)
    query = Query(link_id=10, text=None, image=None, page=PageWords(), terms=library.terms[0])
    scored = {s.name: s for s in score_tags(query, library, vocab)}
    assert not any("uses the words of 3" in r for r in scored["system-catalogs"].reasons)


def test_many_queries_at_once_give_each_querys_similarities():
    """Past DENSE_MIN_ROWS the common terms are searched as a dense block: the same cosines."""
    from tagging.scoring import lexical

    rng = np.random.default_rng(4)
    vocabulary = [f"word{n}" for n in range(600)]
    weights = 1.0 / np.arange(1, len(vocabulary) + 1)
    pages = [" ".join(rng.choice(vocabulary, 80, p=weights / weights.sum())) for _ in range(lexical.DENSE_MIN_ROWS + 40)]
    terms = [term_counts(page) for page in pages]
    index = LexicalIndex(terms, np.arange(len(terms)))
    assert len(index._dense_ids) == lexical.DENSE_TERMS  # the Zipf head is in the block
    queries = terms[:20] + [(np.zeros(0, np.uint32), np.zeros(0, np.float32)), term_counts("unseen words only")]
    many = index.similarities_many(queries)
    assert many.shape == (len(queries), len(terms))
    assert np.allclose(many, np.stack([index.similarities(*q) for q in queries]), atol=1e-6)
    assert many[3].argmax() == 3 and many[3, 3] == pytest.approx(1.0, abs=1e-5)
    small = LexicalIndex(terms[:10], np.arange(10))
    assert len(small._dense_ids) == 0
    assert np.allclose(small.similarities_many(terms[:3]), np.stack([small.similarities(*q) for q in terms[:3]]))
