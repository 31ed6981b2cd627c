"""The bulk path's CPU decode processes: the same pixels as the in-process reduced-scale decode,
bad files reported by row, work done in other processes, nothing lost when a worker dies."""
from __future__ import annotations

import multiprocessing
import os
import signal

import numpy as np
from PIL import Image

from inference import decode_pool
from inference.config import Limits
from inference.preprocess_image import prepare_image


def screenshots(folder, count: int) -> list:
    rng = np.random.default_rng(7)
    paths = []
    for i in range(count):
        path = folder / f"shot{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (800, 1280, 3), dtype=np.uint8)).save(path, "JPEG", quality=80)
        paths.append(path)
    return paths


def test_worker_processes_decode_like_the_reduced_scale_path_and_report_bad_rows(tmp_path):
    paths = screenshots(tmp_path, 5)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    paths.insert(2, tmp_path / "broken.jpg")
    rows = [0, 1, 2, 3, 4, 5]
    submitted = decode_pool.submit(paths, rows, Limits(), chunk=4, workers=2)
    assert [part for part, _, _ in submitted] == [[0, 1, 2, 3], [4, 5]]  # 6 rows in chunks of 4
    got = decode_pool.collect(submitted, Limits())
    assert [row for row, _, _ in got] == rows
    row, pixels, error = got[2]
    assert pixels is None and error
    for row, pixels, error in got[:2] + got[3:]:
        assert error is None and pixels.shape == (224, 224, 3) and pixels.dtype == np.uint8
        assert np.array_equal(pixels, prepare_image(paths[row], Limits(), draft=1))


def test_decoding_runs_in_other_processes():
    decode_pool.warm_up(workers=2)
    pids = {decode_pool.pool(2).submit(os.getpid).result() for _ in range(8)}
    assert os.getpid() not in pids


def test_chunks_of_a_killed_worker_are_decoded_here_and_the_next_batch_gets_a_new_pool(tmp_path):
    paths = screenshots(tmp_path, 3) * 8  # 24 rows: most chunks still queued when the workers die
    rows = list(range(len(paths)))
    decode_pool.warm_up(workers=2)
    first = decode_pool.pool(2)
    submitted = decode_pool.submit(paths, rows, Limits(), chunk=2, workers=2)
    for pid in list(first._processes):  # what the kernel's OOM killer does to a worker
        os.kill(pid, signal.SIGKILL)
    got = decode_pool.collect(submitted, Limits())
    assert [row for row, _, _ in got] == rows
    reference = [prepare_image(p, Limits(), draft=1) for p in paths[:3]]
    assert all(error is None and np.array_equal(pixels, reference[row % 3]) for row, pixels, error in got)
    again = decode_pool.submit(paths[:4], range(4), Limits(), chunk=2, workers=2)
    assert decode_pool.pool(2) is not first
    assert [row for row, _, error in decode_pool.collect(again, Limits()) if error is None] == [0, 1, 2, 3]


def _decode_in_child(paths: list, done) -> None:
    done.put(len(decode_pool.collect(decode_pool.submit(paths, list(range(len(paths))), Limits(), workers=2),
                                     Limits())))
    decode_pool.shutdown(wait=True)


def test_a_process_that_used_its_pool_ends_after_shutting_it_down(tmp_path):
    # As `reanalyze --jobs` runs: a spawned child decoding through its own pool. Without the
    # shutdown the child's exit waits on the pool's processes forever.
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    child = context.Process(target=_decode_in_child, args=(screenshots(tmp_path, 3), done))
    child.start()
    assert done.get(timeout=60) == 3
    child.join(30)
    assert child.exitcode == 0


def test_a_forked_child_starts_its_own_pool_instead_of_using_the_parents():
    parent_pool = decode_pool.pool(1)
    context = multiprocessing.get_context("fork")
    answer = context.Queue()
    child = context.Process(target=lambda: answer.put(decode_pool.pool(1) is not parent_pool))
    child.start()
    assert answer.get(timeout=60) is True
    child.join(30)
    assert child.exitcode == 0
