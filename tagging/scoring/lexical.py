"""Words shared between pages: a TF-IDF similarity between a link and the person's tagged links.

The text model reads the start of a page; two pages of one kind (two SQL command references, two
low-level git commands) often share their vocabulary all the way down (option names, the objects
they handle) while their openings look like every sibling's. So each analysis stores the page's
most frequent terms as hashed ids with counts (a few hundred bytes), and a person's tagged links
are searched by cosine similarity of sublinear-TF x IDF weights, with the IDF of the person's own
links (a word common in their library says little). The search is an inverted index over the
tagged links only, so a query touches the postings of its own terms and nothing else.
"""
from __future__ import annotations

import heapq
import zlib
from collections import Counter
from functools import lru_cache
from itertools import chain
from operator import itemgetter

import numpy as np

from tagging.scoring.arrays import find_sorted, run_positions
from tagging.scoring.words import singular, words

TERMS_KEPT = 100  # the most frequent terms of a page; the rare tail adds bytes, not evidence
QUERY_TERMS = 64
# For many queries at once (similarities_many) the terms with the longest postings are kept as a
# dense block too, (terms x searched rows), and searched by one matrix product: a posting looked up
# costs far more than a multiply-add of a product over a whole batch. At most DENSE_TERMS terms
# (4 bytes x DENSE_TERMS a tagged link: 51 MB for 100,000), each on at least DENSE_SHARE of the rows.
DENSE_TERMS = 128
DENSE_SHARE = 1 / 64
DENSE_MIN_ROWS = 256  # below this many searched rows the postings alone are cheap
HASH_BITS = 22  # 4 M buckets: collisions among a page's few hundred terms are negligible
_MASK = (1 << HASH_BITS) - 1
_IDS = np.dtype("<u4")
_COUNTS = np.dtype("<u2")
# Function words and numbers carry no subject; a short list is enough because IDF damps the rest.
_STOP = frozenset("""
a an and are as at be by for from has have in into is it its of on or that the this to was were will with
not no but if then than so can may must should which who what when where how all any each more most other
some such only own same also do does done you your we our they their there these those been being he she
""".split())


def term_counts(*texts: str) -> tuple[np.ndarray, np.ndarray]:
    """The page's top terms as (sorted hashed ids, counts)."""
    return counts_of_words(chain.from_iterable(words(text) for text in texts))


def counts_of_words(tokens) -> tuple[np.ndarray, np.ndarray]:
    """term_counts of the word tokens (``words()`` of the texts, in order).

    Each distinct word is looked at once, not each occurrence; the terms come out in the order
    of their first occurrence, so equal counts keep most_common's order.
    """
    counts: dict[int, int] = {}
    for word, n in Counter(tokens).items():
        if (term := _term_of(word)) is not None:
            counts[term] = counts.get(term, 0) + n
    top = heapq.nlargest(TERMS_KEPT, counts.items(), key=itemgetter(1))  # as Counter.most_common
    if not top:
        return np.zeros(0, np.uint32), np.zeros(0, np.float32)
    ids = np.array([t for t, _ in top], np.uint32)
    values = np.array([min(c, 65535) for _, c in top], np.float32)
    order = np.argsort(ids)
    return ids[order], values[order]


@lru_cache(maxsize=200_000)  # a page's words are mostly a library's words: one lookup each
def _term_of(word: str) -> int | None:
    """The term id a word counts for, or None for a word that is no term (one letter, a number, a stop word)."""
    if len(word) > 1 and not word.isdigit() and word not in _STOP:
        return zlib.crc32(singular(word).encode()) & _MASK
    return None


def pack_terms(ids: np.ndarray, counts: np.ndarray) -> bytes:
    """Stored form: the ids, then the counts (6 bytes a term)."""
    if len(ids) == 0:
        return b""
    return ids.astype(_IDS).tobytes() + np.asarray(counts).astype(_COUNTS).tobytes()


def unpack_terms(blob: bytes | memoryview | None) -> tuple[np.ndarray, np.ndarray] | None:
    raw = bytes(blob or b"")
    if not raw or len(raw) % 6:
        return None
    n = len(raw) // 6
    return np.frombuffer(raw[:4 * n], _IDS).astype(np.uint32), np.frombuffer(raw[4 * n:], _COUNTS).astype(np.float32)


class LexicalIndex:
    """TF-IDF vectors of some rows of a library, searchable by a query's terms.

    ``terms`` holds every row's (ids, counts) or None; document frequencies come from all of them,
    the postings from the ``searched`` rows only. Built with whole-array operations: 100,000 tagged
    links of 100 terms take a few seconds and about 100 MB, the dense block 51 MB more
    (bench/RESULTS.md). :meth:`add` takes new rows in without a rebuild (the postings merged in,
    every weight computed again, since a new document moves every IDF).
    """

    def __init__(self, terms: list[tuple[np.ndarray, np.ndarray] | None], searched: np.ndarray) -> None:
        self.documents = 0
        self._df_ids, self._df = np.zeros(0, np.uint32), np.zeros(0, np.int64)
        self.rows = np.zeros(0, np.int64)
        self._ids, self._rows, self._tf = np.zeros(0, np.uint32), np.zeros(0, np.int32), np.zeros(0, np.float32)
        self.add(terms, 0, searched)

    def add(self, terms: list[tuple[np.ndarray, np.ndarray] | None], first_row: int, searched: np.ndarray) -> None:
        """Take in the documents of library rows ``first_row``, ``first_row + 1``, ... (``terms``),
        of which the ``searched`` rows (row numbers, ascending, after any searched before) are
        searched."""
        present = [t[0] for t in terms if t is not None and len(t[0])]
        if present:
            self.documents += len(present)
            self._count_documents(np.concatenate(present))
        kept = [int(r) for r in searched if terms[int(r) - first_row] is not None and len(terms[int(r) - first_row][0])]
        if kept:
            local = [terms[r - first_row] for r in kept]
            ids = np.concatenate([t[0] for t in local])
            counts = np.concatenate([t[1] for t in local])
            rows = np.repeat(np.arange(len(self.rows), len(self.rows) + len(kept), dtype=np.int32),
                             [len(t[0]) for t in local])
            tf = 1.0 + np.log(np.maximum(counts, 1.0))
            order = np.argsort(ids, kind="stable")
            ids, rows, tf = ids[order], rows[order], tf[order]
            at = np.searchsorted(self._ids, ids, side="right")  # after the equal ones: rows stay in order
            self._ids, self._rows = np.insert(self._ids, at, ids), np.insert(self._rows, at, rows)
            self._tf = np.insert(self._tf, at, tf)
            self.rows = np.concatenate([self.rows, np.array(kept, np.int64)])
        self._weigh()

    def _count_documents(self, ids: np.ndarray) -> None:
        new, counts = np.unique(ids, return_counts=True)
        at, found = find_sorted(self._df_ids, new)
        self._df[at[found]] += counts[found]
        self._df_ids = np.insert(self._df_ids, at[~found], new[~found])
        self._df = np.insert(self._df, at[~found], counts[~found])

    def __getstate__(self) -> dict:
        """A pickle keeps the postings, not the weights and dense block computed from them (see
        Library.__getstate__): made again on load, in a fraction of the time they take to read."""
        state = vars(self).copy()
        for derived in ("_weights", "_dense_ids", "_dense"):
            del state[derived]
        return state

    def __setstate__(self, state: dict) -> None:
        vars(self).update(state)
        self._weigh()

    def _weigh(self) -> None:
        """Every posting's sublinear TF x IDF, each row's vector L2-normalised."""
        if not len(self._ids):
            self._weights = np.zeros(0, np.float32)
            self._densify(np.zeros(0, np.int64), np.zeros(0, np.int64))
            return
        # The postings are sorted by term: the IDF of each distinct term, repeated over its run.
        starts = np.flatnonzero(np.concatenate([[True], self._ids[1:] != self._ids[:-1]]))
        runs = np.diff(np.concatenate([starts, [len(self._ids)]]))
        weights = self._tf * np.repeat(self.idf(self._ids[starts]), runs)
        norms = np.sqrt(np.bincount(self._rows, weights=weights * weights, minlength=len(self.rows)))
        self._weights = (weights / np.maximum(norms, 1e-12)[self._rows]).astype(np.float32)
        self._densify(starts, runs)

    def _densify(self, starts: np.ndarray, runs: np.ndarray) -> None:
        """The dense block of the terms with the longest postings (see DENSE_TERMS)."""
        self._dense_ids, self._dense = np.zeros(0, np.uint32), np.zeros((0, len(self.rows)), np.float32)
        if len(self.rows) < DENSE_MIN_ROWS:
            return
        long = np.flatnonzero(runs >= DENSE_SHARE * len(self.rows))
        chosen = np.sort(long[np.argsort(-runs[long], kind="stable")[:DENSE_TERMS]])  # by term id
        if not len(chosen):
            return
        lengths = runs[chosen]
        positions = run_positions(starts[chosen], lengths)
        self._dense_ids = self._ids[starts[chosen]]
        self._dense = np.zeros((len(chosen), len(self.rows)), np.float32)
        self._dense[np.repeat(np.arange(len(chosen)), lengths), self._rows[positions]] = self._weights[positions]

    def idf(self, ids: np.ndarray) -> np.ndarray:
        at, found = find_sorted(self._df_ids, ids)
        df = np.zeros(len(ids))
        df[found] = self._df[at[found]]
        return np.log((1.0 + self.documents) / (1.0 + df))  # 0 for a word on every page

    def weights(self, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Sublinear TF x IDF, L2-normalised."""
        w = (1.0 + np.log(np.maximum(counts, 1.0))) * self.idf(ids)
        return w / max(float(np.linalg.norm(w)), 1e-12)

    def similarities(self, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query's terms to each searched row (in ``self.rows`` order).

        Only the query's QUERY_TERMS heaviest terms are looked up: the light ones are the common
        words with the longest postings, and they move a cosine by little. A term on every page of
        the library weighs nothing and is not looked up at all: its postings are every row (a
        boilerplate footer, pages of one template), the costliest lookup for no change.
        """
        if not len(ids) or not len(self.rows):
            return np.zeros(len(self.rows), np.float32)
        return self._postings_sum(*self._query_terms(ids, counts))

    def similarities_many(self, queries: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """:meth:`similarities` of each query, as rows of one matrix: the dense block's terms by one
        matrix product for all of them, the others by their postings."""
        out = np.zeros((len(queries), len(self.rows)), np.float32)
        if not len(self.rows):
            return out
        dense = np.zeros((len(queries), len(self._dense_ids)), np.float32)
        for b, (ids, counts) in enumerate(queries):
            if not len(ids):
                continue
            ids, query = self._query_terms(ids, counts)
            at, in_block = find_sorted(self._dense_ids, ids)
            dense[b, at[in_block]] = query[in_block]
            out[b] = self._postings_sum(ids[~in_block], query[~in_block])
        if len(self._dense_ids):
            out += dense @ self._dense
        return out

    def _query_terms(self, ids: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The query's terms that are looked up, with their weights (see :meth:`similarities`)."""
        query = self.weights(ids, counts)
        weighing = query > 0
        ids, query = ids[weighing], query[weighing]
        if len(query) > QUERY_TERMS:
            heaviest = np.argpartition(-query, QUERY_TERMS - 1)[:QUERY_TERMS]
            ids, query = ids[heaviest], query[heaviest]
        return ids, query

    def _postings_sum(self, ids: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Each searched row's sum of query weight x posting weight over these terms."""
        starts = np.searchsorted(self._ids, ids, side="left")
        lengths = np.searchsorted(self._ids, ids, side="right") - starts
        if not lengths.sum():
            return np.zeros(len(self.rows), np.float32)
        # Every posting of every query term, with the query's weight of that term beside it.
        positions = run_positions(starts, lengths)
        products = self._weights[positions] * np.repeat(query, lengths)
        return np.bincount(self._rows[positions], weights=products, minlength=len(self.rows)).astype(np.float32)
