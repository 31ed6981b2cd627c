"""Parts of bench/inference.py: the bulk path, "reanalyze-shaped" links and start-up from the cache.

Bulk: stored JPEG screenshots read, decoded, resized and embedded, end to end, through
inference.bulk.embed_stored_screenshots (the product's bulk path).
Reanalyze-shaped: one 1280x800 JPEG screenshot and one ~2,000-character page text per link,
through the same bulk path for the images and Predictor.embed_texts for the texts
(tokenising, chunking, the text model); links per second over the whole of it.
Start from the cache: a fresh process loads the default GPU backend with the compiled
packages already on disk and times each batch bucket's first call.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from inference.timing import Timing

# Set to "1" in measure_start's process: torch's own warm start, without inference/backends/inductor_warm_start.py.
AS_SHIPPED = "BENCH_INDUCTOR_AS_SHIPPED"
PAGE = Path(__file__).resolve().parents[1] / "tests" / "inference" / "fixtures" / "docs_page.png"
WORDS = ("database query model index cache server request page link tag search python django release "
         "install configure user account settings migration worker queue image screenshot archive text "
         "document browser network proxy engine vector feature history bookmark import export").split()


def make_screenshots(folder: Path, count: int, size: tuple[int, int], rng) -> list[Path]:
    """Varied JPEG screenshots (the real page, shifted, recoloured), as stored thumbnails.

    At most 512 distinct files are written (encoding is slow); the list cycles through them,
    and every entry is still read and decoded."""
    from PIL import Image, ImageOps

    page = Image.open(PAGE).convert("RGB")
    paths = []
    for i in range(min(count, 512)):
        dy = int(rng.integers(0, 300))
        img = page.crop((0, dy, 1280, dy + 500)).resize(size)
        if i % 3 == 1:
            img = ImageOps.invert(img)
        path = folder / f"shot{i:05d}.jpg"
        img.save(path, "JPEG", quality=85)
        paths.append(path)
    return [paths[i % len(paths)] for i in range(count)]


def bench_bulk(p, name: str, count: int, size: tuple[int, int], rng, cpu_share: float | None = None,
               paths: list[Path] | None = None) -> Timing:
    from inference.bulk import embed_stored_screenshots

    with tempfile.TemporaryDirectory() as tmp:
        paths = paths or make_screenshots(Path(tmp), count, size, rng)
        embed_stored_screenshots(paths[:256], predictor=p, cpu_share=cpu_share)  # warm-up
        start = time.perf_counter()
        result = embed_stored_screenshots(paths, predictor=p, cpu_share=cpu_share)
        elapsed = time.perf_counter() - start
    assert len(result.indices) == len(paths), result.failures
    share = "" if cpu_share is None else f" cpu{cpu_share:g}"
    row = Timing(f"{name} bulk {size[0]}x{size[1]} jpeg{share}", len(paths), len(paths) / elapsed, elapsed * 1000)
    print(row.row(), flush=True)
    return row


def page_texts(count: int, rng, chars: int = 2000) -> list[str]:
    """Distinct page-like texts of about `chars` characters (random prose from a small vocabulary)."""
    texts = []
    for _ in range(count):
        words = rng.choice(WORDS, size=chars // 7)
        text = " ".join(words)
        texts.append(text[:chars].capitalize() + ".")
    return texts


def bench_reanalyze(p, name: str, count: int, rng) -> Timing:
    """Links per second: one 1280x800 JPEG screenshot + one ~2,000-character text per link."""
    from inference.bulk import embed_stored_screenshots
    from inference.bulk_pages import embed_pages

    texts = page_texts(count, rng)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_screenshots(Path(tmp), count, (1280, 800), rng)
        embed_pages(paths[:512], texts[:512], predictor=p)  # warm-up: both models, every bucket used
        start = time.perf_counter()
        embed_stored_screenshots(paths, predictor=p)
        image_s = time.perf_counter() - start
        start = time.perf_counter()
        p.embed_texts(texts)
        text_s = time.perf_counter() - start
        start = time.perf_counter()
        result = embed_pages(paths, texts, predictor=p)
        elapsed = time.perf_counter() - start
    assert len(result.images.indices) == count and result.texts.embeddings.shape == (count, 384)
    print(f"# reanalyze {name}: {count} links; alone: images {image_s:.2f}s, texts {text_s:.2f}s; "
          f"together (inference.bulk_pages.embed_pages) {elapsed:.2f}s", flush=True)
    row = Timing(f"{name} reanalyze links", count, count / elapsed, elapsed * 1000)
    print(row.row(), flush=True)
    return row


def measure_start(models_dir: Path, image_batches: list[int], text_batches: list[int],
                  options: dict | None = None, seconds: float = 2.0) -> dict:
    """In this process: load torch-cuda (default options unless `options`), time each bucket's
    first call, then the throughput of the largest image bucket (the compiled code from the cache
    must run as fast as freshly compiled code). The image model's load includes cuDNN's set-up
    (reported apart), so its buckets' first calls show what is paid per bucket."""
    import torch

    from inference import Predictor
    from inference.specs import IMAGE, TEXT, random_inputs
    from inference.timing import measure

    if os.environ.get(AS_SHIPPED) == "1":  # the baseline: Inductor's warm start without the correction
        from inference.backends import inductor_warm_start
        inductor_warm_start.keep_coordinate_descent_marks = lambda: ()
    rng = np.random.default_rng()
    p = Predictor(backend="torch-cuda", models_dir=models_dir, **(options or {}))
    out: dict = {}
    for spec, batches in ((IMAGE, image_batches), (TEXT, text_batches)):
        if not batches:  # a model with no bucket to time is not loaded either
            continue
        start = time.perf_counter()
        backend = p.backend(spec)
        out[f"{spec.name} load"] = time.perf_counter() - start
        out[f"{spec.name} compiled now"] = any(pkg.compiled for pkg in getattr(backend, "packages", {}).values())
        if spec is IMAGE:
            out["cudnn set-up"] = getattr(backend, "cudnn_setup_seconds", 0.0)
        for b in batches:
            x = random_inputs(spec, b, rng, seq=256)
            if spec is TEXT:
                x["attention_mask"][:] = 1
            xt = {k: torch.from_numpy(v).cuda() for k, v in x.items()}
            torch.cuda.synchronize()
            start = time.perf_counter()
            backend.infer_torch(xt)
            torch.cuda.synchronize()
            out[f"{spec.name} batch {b} first call"] = time.perf_counter() - start
            firsts = getattr(backend, "first_forward_seconds", {})
            if firsts:
                out[f"{spec.name} batch {b} of which first forward"] = list(firsts.values())[-1]
        if spec is IMAGE and batches:
            out[f"image batch {max(batches)} items/s"] = measure("start", max(batches),
                                                                lambda: backend.infer_torch(xt),
                                                                torch.cuda.synchronize, seconds).per_second
    from inference.backends.compile_cache import cache_hits

    out["fx graph cache"] = cache_hits()
    # Seconds per step of Dynamo and Inductor, each step's calls summed (coordinate-descent tuning
    # at a start from the cache shows here).
    names, seconds = torch._dynamo.utils.compile_times(repr="csv", aggregate=True)
    out["compile times"] = {name: round(float(s), 4) for name, s in zip(names, seconds)}
    return out


def start_from_cache(models_dir: Path, image_batches: list[int], text_batches: list[int],
                     options: dict | None = None, label: str = "",
                     variables: dict[str, str] | None = None, timeout: float = 900) -> dict:
    """Run measure_start in a fresh interpreter (nothing warm in this one), with `variables` added
    to its environment, and report ({} when it failed or ran past `timeout` seconds)."""
    code = ("import faulthandler, json, sys; faulthandler.enable(); sys.path.insert(0, %r); from pathlib import Path; "
            "from bench.inference_bulk import measure_start; "
            "print('START ' + json.dumps(measure_start(Path(%r), %r, %r, %r)))"
            % (str(Path(__file__).resolve().parents[1]), str(models_dir), image_batches, text_batches, options))
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONUNBUFFERED": "1", **(variables or {})})
    except subprocess.TimeoutExpired:
        print(f"# start from cache{label}: no result within {timeout:.0f} s", flush=True)
        return {}
    total = time.perf_counter() - start
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("START ")), None)
    if line is None:
        print(f"# start from cache{label} failed (exit {done.returncode}): {done.stdout[-1500:]} {done.stderr[-3000:]}",
              flush=True)
        return {}
    result = json.loads(line[6:])
    print(f"# start from cache{label} (fresh process, {total:.1f}s in all incl. imports): "
          + ", ".join(f"{k} {v:.2f}s" if isinstance(v, float) and "items/s" not in k else f"{k} {v}"
                      for k, v in result.items()), flush=True)
    return result
