"""The neighbour searches with torch (on the GPU where the models run there) find what numpy finds:
the same nearest columns in the same order, equal similarities in column order, a query's own row
left out, the same typical similarity; and score_batch scores the same through either."""
import numpy as np
import pytest

from tagging.scoring import neighbours
from tagging.scoring.batch import score_batch
from tests.tagging.test_scoring_batch import person, queries

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.no_postgres
CUDA = torch.cuda.is_available()


def similarities(rng, rows, n, steps=None):
    sims = rng.uniform(-0.3, 0.9, (rows, n)).astype(np.float32)
    return np.round(sims * steps) / steps if steps else sims  # few distinct values: many ties


@pytest.mark.parametrize("n, steps", [(3, None), (4, 5), (7, 8), (64, 20), (257, None), (4000, 50), (9001, 40)])
def test_torch_finds_the_same_neighbours_and_typical_level_as_numpy(n, steps):
    rng = np.random.default_rng(n)
    sims = similarities(rng, 33, n, steps).astype(np.float32)
    own = np.where(rng.random(33) < 0.5, rng.integers(0, n, 33), -1)
    expected = neighbours.among(sims.copy(), own, 10, 0.25)
    got = neighbours.with_torch(torch, "cpu", own, 10, 0.25, sims=sims.copy())
    assert np.array_equal(got.columns, expected.columns)
    assert np.array_equal(got.sims, expected.sims)
    assert np.allclose(got.typical, expected.typical, atol=1e-7)
    assert expected.columns.shape == (33, min(10, n))
    if n >= 5:  # the typical level is a median, not the fallback
        assert not np.allclose(expected.typical, 0.25)
    mine = own >= 0
    if n > 10:  # a query's own row is never among its neighbours while there are enough others
        assert not np.any(got.columns[mine] == own[mine][:, None])
    assert np.all(got.sims[got.columns == own[:, None]] == neighbours.OWN)


@pytest.mark.parametrize("shared", [0, 3, 30])
def test_rows_mostly_of_one_value_find_the_same_neighbours_with_torch(shared):
    """Word similarities: a page sharing words with only a few others has a row of zeros; its
    neighbours past those few are the first zeros in column order, as numpy takes them."""
    rng = np.random.default_rng(shared)
    sims = np.zeros((24, 9001), np.float32)
    for row in sims:
        row[rng.choice(9001, shared, replace=False)] = rng.uniform(0.05, 0.9, shared)
    own = np.where(np.arange(24) % 2, rng.integers(0, 9001, 24), -1)
    expected = neighbours.among(sims.copy(), own, 10, 0.25)
    got = neighbours.with_torch(torch, "cpu", own, 10, 0.25, sims=sims.copy())
    assert np.array_equal(got.columns, expected.columns)
    assert np.array_equal(got.sims, expected.sims)
    if shared == 3:  # the three, then the first zeros of the row (its own column left out)
        assert np.all(got.sims[:, :3] > 0) and np.all(got.sims[:, 3:] == 0)


def test_a_search_multiplies_as_numpy_does():
    rng = np.random.default_rng(8)
    vectors = rng.standard_normal((20, 48)).astype(np.float32)
    matrix = rng.standard_normal((500, 48)).astype(np.float32)
    own = np.arange(20) * 3
    expected = neighbours.among(vectors @ matrix.T, own, 10, 0.3)
    got = neighbours.with_torch(torch, "cpu", own, 10, 0.3, vectors=vectors, matrix=matrix)
    assert np.array_equal(got.columns, expected.columns)
    assert np.allclose(got.sims, expected.sims, atol=1e-5)
    assert not np.any(got.columns == own[:, None])


@pytest.mark.parametrize("on", [None, (torch, "cpu")])
def test_queries_searched_in_slices_find_what_they_find_together_and_the_matrix_moves_once(monkeypatch, on):
    rng = np.random.default_rng(12)
    vectors = rng.standard_normal((20, 48)).astype(np.float32)
    matrix = rng.standard_normal((500, 48)).astype(np.float32)
    own = np.where(np.arange(20) % 3, np.arange(20) * 7, -1)
    expected = neighbours.among(vectors @ matrix.T, own, 10, 0.3)
    moved = []
    real = neighbours._tensor
    monkeypatch.setattr(neighbours, "_tensor", lambda t, a, d: moved.append(a is matrix) or real(t, a, d))
    monkeypatch.setattr(neighbours, "where", lambda: on)
    got = neighbours.search(vectors, matrix, own, 10, 0.3, 7)  # slices of 7, 7 and 6 queries
    assert np.array_equal(got.columns, expected.columns)
    assert np.allclose(got.sims, expected.sims, atol=1e-5) and np.allclose(got.typical, expected.typical, atol=1e-6)
    assert moved.count(True) == (0 if on is None else 1)


def batch_scores(monkeypatch, on):
    monkeypatch.setattr(neighbours, "where", lambda: on)
    rng = np.random.default_rng(3)
    library, vocab, centres = person(rng)
    return score_batch(queries(rng, library, centres), library, vocab)


def assert_same_scores(got, expected):
    assert [[s.tag_id for s in scored] for scored in got] == [[s.tag_id for s in scored] for scored in expected]
    for g, e in zip(got, expected):
        assert [s.score for s in g] == pytest.approx([s.score for s in e], abs=1e-5)
        assert [s.reasons for s in g] == [s.reasons for s in e]


def test_a_batch_scores_the_same_with_torch(monkeypatch):
    expected = batch_scores(monkeypatch, None)
    calls = []
    real = neighbours.with_torch
    monkeypatch.setattr(neighbours, "with_torch", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    assert_same_scores(batch_scores(monkeypatch, (torch, "cpu")), expected)
    assert len(calls) == 3  # the text, screenshot and word neighbours


def test_the_device_is_chosen_by_the_variable(monkeypatch):
    monkeypatch.setenv(neighbours.ENV_DEVICE, "cpu")
    assert neighbours.where() is None
    monkeypatch.setenv(neighbours.ENV_DEVICE, "gpu")
    with pytest.raises(neighbours.ScoringDeviceError, match="auto, cpu, cuda, got 'gpu'"):
        neighbours.where()
    monkeypatch.setenv(neighbours.ENV_DEVICE, "auto")
    assert (neighbours.where() is not None) == torch.cuda.is_initialized()
    monkeypatch.setenv(neighbours.ENV_DEVICE, "cuda")
    if CUDA:
        assert neighbours.where() == (torch, "cuda")
    else:
        with pytest.raises(neighbours.ScoringDeviceError, match="sees no CUDA device"):
            neighbours.where()


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="no CUDA device on this machine")
def test_a_batch_scores_the_same_on_the_gpu(monkeypatch):
    expected = batch_scores(monkeypatch, None)
    assert_same_scores(batch_scores(monkeypatch, (torch, "cuda")), expected)
    rng = np.random.default_rng(11)
    sims = similarities(rng, 64, 24576, 200)
    own = rng.integers(-1, 24576, 64)
    cpu = neighbours.among(sims.copy(), own, 10, 0.25)
    gpu = neighbours.with_torch(torch, "cuda", own, 10, 0.25, sims=sims.copy())
    assert np.array_equal(gpu.columns, cpu.columns) and np.array_equal(gpu.sims, cpu.sims)
    assert np.allclose(gpu.typical, cpu.typical, atol=1e-7)


def test_a_search_the_gpu_has_no_memory_for_is_made_with_numpy(monkeypatch, caplog):
    rng = np.random.default_rng(9)
    vectors = rng.standard_normal((8, 16)).astype(np.float32)
    matrix = rng.standard_normal((300, 16)).astype(np.float32)
    own = np.full(8, -1)
    expected = neighbours.among(vectors @ matrix.T, own, 10, 0.3)

    def full(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 64.00 MiB\nmore")
    monkeypatch.setattr(neighbours, "where", lambda: (torch, "cpu"))  # the GPU's error, raised by the search
    monkeypatch.setattr(neighbours, "with_torch", full)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    for got in neighbours.search(vectors, matrix, own, 10, 0.3, 64), neighbours.among(vectors @ matrix.T, own, 10, 0.3):
        assert np.array_equal(got.columns, expected.columns) and np.allclose(got.typical, expected.typical)
    assert "the GPU is out of memory (CUDA out of memory. Tried to allocate 64.00 MiB)" in caplog.text
