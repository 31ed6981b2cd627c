"""A person's analysed links as the scorer searches them (tagging/scoring/score.py).

Built by tagging/analysis/library.py from the stored vectors and kept up to date in place: a
re-analysis replaces rows, new links are appended, and everything derived from the rows (the
compact matrices of the tagged links, each tag's members and text sum, the word index) follows
as a rebuild would compute it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tagging.scoring.arrays import run_positions
from tagging.scoring.lexical import LexicalIndex

if TYPE_CHECKING:
    from tagging.scoring.calibration import Combination


class Library:
    """One person's analysed links, ready for queries.

    Only tagged links can vote, so each query searches compact float32 matrices of the tagged
    links' vectors (two matrix-vector products); everything else a query needs (each tag's rows
    and summed text vector) is worked out once per library. ``text`` and ``image`` may be float16
    (how the cache keeps all links); missing vectors are zero rows. ``terms`` holds each link's
    stored top terms (scoring/lexical.py) or None; without it there is no word evidence.
    :meth:`replace_rows` takes new vectors of links already in it (a re-analysis) in place.
    """

    def __init__(self, link_ids: np.ndarray, text: np.ndarray, image: np.ndarray,
                 row_tags: list[tuple[int, ...]], terms: list | None = None) -> None:
        self.link_ids, self.row_tags = link_ids, list(row_tags)
        self.size = len(link_ids)
        self.tagged = np.fromiter((bool(t) for t in row_tags), bool, count=self.size)
        self._text, self._image = text, image
        self._buffers: dict[str, np.ndarray] = {}  # room to grow into (add_rows)
        self.text_rows, self.text_matrix = _compact(text, self.tagged)
        self.image_rows, self.image_matrix = _compact(image, self.tagged)
        self.members: dict[int, list[int]] = {}
        for row, tags in enumerate(row_tags):
            for tag_id in tags:
                self.members.setdefault(tag_id, []).append(row)
        self._sums: tuple[np.ndarray, np.ndarray] | None = None
        self._row_tag_index: tuple[np.ndarray, np.ndarray] | None = None
        self._row_of: dict[int, int] | None = None
        self.terms = terms
        self.lexical = LexicalIndex(terms, np.flatnonzero(self.tagged)) if terms is not None else None
        # The combination of evidence learnt on this library (scoring/calibration.py), with the
        # vocabulary it was learnt for, and how many links got new vectors or came in since.
        self.combination: tuple[tuple[int, ...], Combination | None] | None = None
        self.changed_since_learnt = 0

    def __getstate__(self) -> dict:
        """What a pickle keeps (tagging/analysis/library.save hands libraries to other processes):
        the rows, without the float32 matrices of the tagged links, which are made from them again
        on load. They are twice the size of the float16 rows they copy: most of the pickle, and of
        the time each process spends reading it."""
        state = vars(self).copy()
        for derived in ("text_matrix", "image_matrix", "_buffers"):
            del state[derived]
        if self.terms is not None:  # as three arrays: one small array at a time is slower than the rest
            state["terms"] = _flat_terms(self.terms)
        return state

    def __setstate__(self, state: dict) -> None:
        vars(self).update(state)
        if self.terms is not None:
            self.terms = _split_terms(*self.terms)
        self._buffers = {}
        self.text_matrix = np.ascontiguousarray(self._text[self.text_rows], dtype=np.float32)
        self.image_matrix = np.ascontiguousarray(self._image[self.image_rows], dtype=np.float32)

    @property
    def text(self) -> np.ndarray:
        """Every row's text vector as kept (float16 in the cache; zeros where a link has none)."""
        return self._text

    @property
    def image(self) -> np.ndarray:
        """Every row's projected screenshot vector as kept, like :attr:`text`."""
        return self._image

    def prototype_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """The tag ids and, row by row, the sum of the text vectors of each tag's links (float64;
        computed on first use, then kept current by :meth:`replace_rows`)."""
        if self._sums is None:
            ids = np.array(list(self.members), np.int64)
            sums = np.zeros((len(ids), self._text.shape[1]), np.float64)
            for i, rows in enumerate(self.members.values()):
                sums[i] = self._text[rows].astype(np.float64).sum(axis=0)
            self._sums = ids, sums
        return self._sums

    def text_sums(self) -> dict[int, np.ndarray]:
        """Sum of the text vectors of each tag's links, by tag id."""
        ids, sums = self.prototype_sums()
        return dict(zip(ids.tolist(), sums))

    def row_of(self) -> dict[int, int]:
        """link id -> row."""
        if self._row_of is None:
            self._row_of = {int(link_id): row for row, link_id in enumerate(self.link_ids)}
        return self._row_of

    def text_of(self, row: int) -> np.ndarray:
        return self._text[row].astype(np.float32)

    def row_tag_index(self) -> tuple[np.ndarray, np.ndarray]:
        """``row_tags`` as flat arrays: the tags of row r are ``tag_ids[starts[r]:starts[r + 1]]``."""
        if self._row_tag_index is None:
            counts, tag_ids = _flat_tags(self.row_tags)
            self._row_tag_index = np.concatenate([[0], np.cumsum(counts)]), tag_ids
        return self._row_tag_index

    def replace_rows(self, rows: np.ndarray, text: np.ndarray, image: np.ndarray, terms: list | None = None) -> int:
        """New vectors (and stored terms) of links already in the library, whose tags did not change;
        returns how many rows moved by more than rounding (:data:`MOVED_BY`: the same page embedded
        again in another batch differs in the last bits). A row given the values it has is left alone.

        What is derived from them is updated as a rebuild would compute it: the compact matrices'
        rows overwritten (rebuilt only when a vector appeared or went missing), each tag's sum
        moved by the difference, and the word index rebuilt only when some link's terms changed
        (a re-analysis of the same snapshot stores the same terms).
        """
        rows = np.asarray(rows, np.int64)
        text, image = np.asarray(text, self._text.dtype), np.asarray(image, self._image.dtype)
        new_terms = np.zeros(len(rows), bool)
        if terms is not None and self.terms is not None:
            new_terms = np.fromiter((not _same_terms(self.terms[int(r)], t) for r, t in zip(rows, terms)), bool,
                                    count=len(rows))
        differs = np.any(self._text[rows] != text, axis=1) | np.any(self._image[rows] != image, axis=1) | new_terms
        if not differs.any():
            return 0
        rows, text, image, new_terms = rows[differs], text[differs], image[differs], new_terms[differs]
        moved = int(np.count_nonzero(_moved(self._text[rows], text) | _moved(self._image[rows], image) | new_terms))
        before = self._text[rows].astype(np.float64)
        self._text[rows], self._image[rows] = text, image
        self.text_rows, self.text_matrix = _replaced(self._text, self.tagged, self.text_rows, self.text_matrix, rows)
        self.image_rows, self.image_matrix = _replaced(self._image, self.tagged, self.image_rows, self.image_matrix,
                                                       rows)
        if self._sums is not None:
            self._move_sums(rows, self._text[rows].astype(np.float64) - before)
        if new_terms.any():
            kept_terms = [t for t, d in zip(terms, differs) if d]
            for r, t, new in zip(rows.tolist(), kept_terms, new_terms):
                if new:
                    self.terms[r] = t
            self.lexical = LexicalIndex(self.terms, np.flatnonzero(self.tagged))
        return moved

    def add_rows(self, link_ids: np.ndarray, text: np.ndarray, image: np.ndarray, row_tags: list[tuple[int, ...]],
                 terms: list | None = None) -> None:
        """New links, appended as rows: what a rebuild with them would compute, without one (the
        arrays grow into spare room, the word index takes the new documents in)."""
        first, added = self.size, len(link_ids)
        if not added:
            return
        tagged = np.fromiter((bool(t) for t in row_tags), bool, count=added)
        self.link_ids = self._append("link_ids", self.link_ids, np.asarray(link_ids, self.link_ids.dtype))
        self._text = self._append("text", self._text, text)
        self._image = self._append("image", self._image, image)
        self.tagged = self._append("tagged", self.tagged, tagged)
        self.row_tags.extend(row_tags)
        self.size += added
        for name, stored in (("text", self._text), ("image", self._image)):
            new_rows = first + np.flatnonzero(tagged & np.any(stored[first:] != 0, axis=1))
            rows = self._append(f"{name}_rows", getattr(self, f"{name}_rows"), new_rows)
            matrix = self._append(f"{name}_matrix", getattr(self, f"{name}_matrix"),
                                  stored[new_rows].astype(np.float32))
            setattr(self, f"{name}_rows", rows)
            setattr(self, f"{name}_matrix", matrix)
        for row, tags in enumerate(row_tags, start=first):
            for tag_id in tags:
                self.members.setdefault(tag_id, []).append(row)
        if self._row_of is not None:
            self._row_of.update((int(link_id), row) for row, link_id in enumerate(link_ids, start=first))
        if self._row_tag_index is not None:
            starts, tag_ids = self._row_tag_index
            counts, new_ids = _flat_tags(row_tags)
            self._row_tag_index = (np.concatenate([starts, starts[-1] + np.cumsum(counts)]),
                                   np.concatenate([tag_ids, new_ids]))
        if self._sums is not None:
            ids, sums = self._sums
            fresh = np.array(sorted({t for tags in row_tags for t in tags} - set(ids.tolist())), np.int64)
            if len(fresh):
                ids = np.concatenate([ids, fresh])
                sums = np.concatenate([sums, np.zeros((len(fresh), sums.shape[1]))])
                self._sums = ids, sums
            self._move_sums(np.arange(first, self.size), self._text[first:].astype(np.float64))
        if self.terms is not None:
            self.terms.extend(terms if terms is not None else [None] * added)
            self.lexical.add(self.terms[first:], first, first + np.flatnonzero(tagged))

    def _append(self, name: str, current: np.ndarray, extra: np.ndarray) -> np.ndarray:
        """``current`` followed by ``extra``, as a view of a buffer kept with a quarter to spare."""
        used, need = len(current), len(current) + len(extra)
        buffer = self._buffers.get(name)
        if buffer is None or need > len(buffer) or not np.shares_memory(buffer[:1], current[:1]):
            buffer = np.empty((need + need // 4 + 256,) + current.shape[1:], current.dtype)
            buffer[:used] = current
            self._buffers[name] = buffer
        buffer[used:need] = extra
        return buffer[:need]

    def _move_sums(self, rows: np.ndarray, delta: np.ndarray) -> None:
        ids, sums = self._sums
        starts, tag_ids = self.row_tag_index()
        counts = starts[rows + 1] - starts[rows]
        if not counts.sum():
            return
        of_row = np.repeat(np.arange(len(rows)), counts)
        flat = tag_ids[run_positions(starts[rows], counts)]
        order = np.argsort(ids)
        np.add.at(sums, order[np.searchsorted(ids[order], flat)], delta[of_row])


def _flat_tags(row_tags: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """How many tags each row has, and all the rows' tag ids one after the other."""
    counts = np.fromiter((len(t) for t in row_tags), np.int64, count=len(row_tags))
    return counts, np.fromiter((t for tags in row_tags for t in tags), np.int64, count=int(counts.sum()))


def _flat_terms(terms: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's stored terms (ids, counts) or None, as three arrays: each row's length (-1 for
    None), then all the ids and all the counts one row after the other."""
    present = [t for t in terms if t is not None]
    lengths = np.fromiter((-1 if t is None else len(t[0]) for t in terms), np.int64, count=len(terms))
    ids = np.concatenate([t[0] for t in present]) if present else np.zeros(0, np.uint32)
    counts = np.concatenate([t[1] for t in present]) if present else np.zeros(0, np.float32)
    return lengths, ids, counts


def _split_terms(lengths: np.ndarray, ids: np.ndarray, counts: np.ndarray) -> list:
    """:func:`_flat_terms` undone (each row's arrays are views of the two long ones)."""
    ends = np.cumsum(np.maximum(lengths, 0)).tolist()
    starts = [0] + ends[:-1]
    return [None if length < 0 else (ids[start:end], counts[start:end])
            for length, start, end in zip(lengths.tolist(), starts, ends)]


def _compact(matrix: np.ndarray, tagged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows that are tagged and have a vector, and those vectors as one float32 matrix."""
    if len(matrix) == 0:
        return np.zeros(0, np.int64), np.zeros((0, matrix.shape[1]), np.float32)
    rows = np.flatnonzero(tagged & np.any(matrix != 0, axis=1))
    return rows, np.ascontiguousarray(matrix[rows], dtype=np.float32)


def _replaced(matrix: np.ndarray, tagged: np.ndarray, compact_rows: np.ndarray, compact: np.ndarray,
              changed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """_compact(matrix, tagged) after ``changed`` rows of ``matrix`` were overwritten."""
    wanted = tagged[changed] & np.any(matrix[changed] != 0, axis=1)
    at = np.searchsorted(compact_rows, changed)
    present = at < len(compact_rows)
    present[present] = compact_rows[at[present]] == changed[present]
    if not np.array_equal(wanted, present):  # a vector appeared or went missing: the rows move
        return _compact(matrix, tagged)
    compact[at[wanted]] = matrix[changed[wanted]]
    return compact_rows, compact


# A component of a unit vector that moves by more than this is a change of the page, not of
# rounding: float16 keeps about 3 decimal digits, and a batch of other size or order changes a GPU's
# float32 results in their last bits.
MOVED_BY = 1e-2


def _moved(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Rows (float16 unit vectors, or zero where missing) that moved by more than rounding."""
    return np.abs(before.astype(np.float32) - after.astype(np.float32)).max(axis=1, initial=0) > MOVED_BY


def _same_terms(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
