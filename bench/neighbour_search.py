"""The neighbour search of a batch of queries on the CPU: the k nearest columns of each row of a
(queries x library) similarity matrix and each row's typical similarity, as the scoring of a
re-analysis makes them three times a batch (text, screenshot and word neighbours).

    .venv/bin/python bench/neighbour_search.py [--queries 512] [--links 24576] [--baseline REF]

Three kinds of rows: dot products of unit vectors (the text and screenshot neighbours), and word
similarities of pages sharing words with 3 or 300 others only (the rest of their row is 0).
``tagging/scoring/score.py`` and ``neighbours.py`` of ``--baseline`` (default: the commit before the
search took its candidates by groups of strided columns) are timed in the same run on the same
matrices, loaded beside this tree's. ``torch (CPU)`` is the torch path on the CPU, which the
product takes on a GPU only: its figures show how much comes back to the host for the sort, not
a GPU's speed. Each figure is the best of --repeat runs, in milliseconds per matrix.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASELINE = "60f91e4"
K = 10


def modules_at(ref: str, tmp: Path) -> tuple:
    """score.py and neighbours.py as they were at ``ref`` (neighbours importing that score)."""
    loaded = []
    for name in ("score", "neighbours"):
        source = subprocess.run(["git", "show", f"{ref}:tagging/scoring/{name}.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
        source = source.replace("from tagging.scoring.score import", "from score_baseline import")
        path = tmp / f"{name}_baseline.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(f"{name}_baseline", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        loaded.append(module)
    return tuple(loaded)


def matrices(queries: int, links: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    library = rng.standard_normal((links, 384)).astype(np.float32)
    library /= np.linalg.norm(library, axis=1, keepdims=True)
    asked = library[:queries] + 0.1 * rng.standard_normal((queries, 384)).astype(np.float32)
    out = {"vectors": asked @ library.T}
    for shared in (3, 300):
        words = np.zeros((queries, links), np.float32)
        for row in words:
            row[rng.choice(links, shared, replace=False)] = rng.uniform(0.05, 0.9, shared)
        out[f"words, {shared} shared"] = words
    return out


def best_ms(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(min(times) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=512)
    parser.add_argument("--links", type=int, default=24_576)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from tagging.scoring import neighbours, score

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        old_score, old_neighbours = modules_at(args.baseline, Path(tmp))
        codes = {f"baseline {args.baseline}": (old_score, old_neighbours), "this tree": (score, neighbours)}
        own = -np.ones(args.queries, np.int64)
        for kind, sims in matrices(args.queries, args.links).items():
            found = {code: s.nearest(sims, K) for code, (s, _) in codes.items()}
            first, *others = found.values()
            assert all(np.array_equal(first, other) for other in others), "the codes found different neighbours"
            for code, (s, n) in codes.items():
                print({"rows": kind, "code": code, "queries": args.queries, "links": args.links,
                       "nearest_ms": best_ms(lambda: s.nearest(sims, K), args.repeat),
                       "typical_ms": best_ms(lambda: n.typical_of(sims, 0.25), args.repeat),
                       "torch_cpu_ms": best_ms(lambda: n.with_torch(torch, "cpu", own, K, 0.25, sims=sims.copy()),
                                               min(args.repeat, 3))}, flush=True)


if __name__ == "__main__":
    main()
