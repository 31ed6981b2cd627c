"""Inference benchmark: images/s and texts/s (seq 256) per backend and batch, eager fp32
baseline in the same run, batch-1 latency, and the bulk path (stored screenshots -> features).

    python bench/inference.py [--backends tensorrt torch-cuda onnxruntime] [--json out.json]

GPU backends are timed on device-resident inputs (the model) and batch-1 latency also host to
host; CPU backends on numpy arrays. Prints a table; the last lines are the ratios.
"""
from __future__ import annotations

import argparse
import datetime
import json
import logging
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference import Predictor  # noqa: E402
from inference.backends.registry import available_backends  # noqa: E402
from inference.export import build_module  # noqa: E402
from inference.specs import IMAGE, TEXT, random_inputs  # noqa: E402
from inference.timing import HEADER, Timing, measure  # noqa: E402

log = logging.getLogger("bench")
PAGE = Path(__file__).resolve().parents[1] / "tests" / "inference" / "fixtures" / "docs_page.png"


def device_name() -> tuple[str, bool]:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(), True
    return f"{platform.processor() or platform.machine()} CPU x{__import__('os').cpu_count()}", False


def text_inputs(batch: int, rng) -> dict:
    x = random_inputs(TEXT, batch, rng, seq=256)
    x["attention_mask"][:] = 1  # every sequence a full 256 tokens
    return x


def bench_eager(batches_img, batches_txt, cuda: bool, seconds: float, rng) -> list[Timing]:
    """PyTorch eager fp32: the plain modules, no graphs, no compile, no fp16."""
    import torch

    dev = "cuda" if cuda else "cpu"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    rows = []
    for spec, batches, make in ((IMAGE, batches_img, lambda b: random_inputs(IMAGE, b, rng)),
                                (TEXT, batches_txt, lambda b: text_inputs(b, rng))):
        module = build_module(spec).to(dev)
        for b in batches:
            x = [torch.from_numpy(v).to(dev) for v in make(b).values()]
            with torch.inference_mode():
                rows.append(measure(f"eager-fp32 {spec.name}", b, lambda: module(*x), sync, seconds, warmup=2))
            print(rows[-1].row(), flush=True)
        del module
    return rows


def bench_backend(name: str, models_dir: Path, batches_img, batches_txt, cuda: bool, seconds: float, rng
                  ) -> tuple[list[Timing], Predictor]:
    import torch

    p = Predictor(backend=name, models_dir=models_dir)
    rows = []
    for spec, batches, make in ((IMAGE, batches_img, lambda b: random_inputs(IMAGE, b, rng)),
                                (TEXT, batches_txt, lambda b: text_inputs(b, rng))):
        backend = p.backend(spec)
        for b in batches:
            if b > backend.max_batch:
                continue
            x = make(b)
            if hasattr(backend, "infer_torch"):
                xt = {k: torch.from_numpy(v).cuda() for k, v in x.items()}
                rows.append(measure(f"{name} {spec.name}", b, lambda: backend.infer_torch(xt),
                                    torch.cuda.synchronize, seconds))
                if b == 1:
                    print(rows[-1].row(), flush=True)
                    rows.append(measure(f"{name} {spec.name} host->host", 1, lambda: backend.infer(x),
                                        torch.cuda.synchronize, seconds))
            else:
                rows.append(measure(f"{name} {spec.name}", b, lambda: backend.infer(x), min_seconds=seconds,
                                    warmup=1))
            print(rows[-1].row(), flush=True)
    return rows, p


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


def bench_bulk(p: Predictor, name: str, count: int, size: tuple[int, int], rng) -> Timing:
    from inference.bulk import embed_stored_screenshots

    with tempfile.TemporaryDirectory() as tmp:
        paths = make_screenshots(Path(tmp), count, size, rng)
        embed_stored_screenshots(paths[:256], predictor=p)  # warm-up: engines, graphs, decoders
        start = time.perf_counter()
        result = embed_stored_screenshots(paths, predictor=p)
        elapsed = time.perf_counter() - start
    assert len(result.indices) == count, result.failures
    row = Timing(f"{name} bulk {size[0]}x{size[1]} jpeg", count, count / elapsed, elapsed * 1000)
    print(row.row(), flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backends", nargs="+", default=None)
    ap.add_argument("--models-dir", default=None)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--bulk", type=int, default=None, help="number of screenshots for the bulk run")
    ap.add_argument("--json", default=None)
    ap.add_argument("--no-eager", action="store_true", help="skip the eager fp32 baseline")
    ap.add_argument("--no-text", action="store_true")
    ap.add_argument("--no-bulk", action="store_true")
    ap.add_argument("--label", default="", help="suffix for backend rows (e.g. +compile)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    rng = np.random.default_rng()
    device, cuda = device_name()
    models_dir = Path(args.models_dir or tempfile.mkdtemp(prefix="linkshot-models-"))
    batches_img = [1, 32, 256]
    batches_txt = [] if args.no_text else [1, 32, 256, 512] if cuda else [1, 32]
    status = available_backends()
    names = args.backends or [n for n, s in status.items() if s == "ok" and (cuda or n == "onnxruntime")]
    print(f"device: {device}; date {datetime.date.today()}; backends {status}")
    print(HEADER)
    rows = [] if args.no_eager else bench_eager(batches_img, batches_txt, cuda, args.seconds, rng)
    predictors = {}
    for name in names:
        try:
            got, predictors[name] = bench_backend(name, models_dir, batches_img, batches_txt, cuda, args.seconds, rng)
            for r in got:
                r.label = r.label.replace(name, name + args.label, 1)
            rows += got
        except Exception as exc:  # report and go on with the next backend
            log.error("backend %s failed: %s", name, exc)
    bulk_count = args.bulk or (8192 if cuda else 256)
    for name, p in ({} if args.no_bulk else predictors).items():
        for size in ((448, 280), (1280, 800)):
            rows.append(bench_bulk(p, name, bulk_count, size, rng))
    summary(rows)
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device, "date": str(datetime.date.today()),
                                               "rows": [r.__dict__ for r in rows]}, indent=1))
    return 0


def summary(rows: list[Timing]) -> None:
    base = {(r.label.split()[1], r.batch): r.per_second for r in rows if r.label.startswith("eager-fp32")}
    print("\n" + HEADER + "   x eager-fp32")
    for r in rows:
        parts = r.label.split()
        ratio = base.get((parts[1], r.batch)) if len(parts) == 2 else None
        print(r.row() + (f"   {r.per_second / ratio:5.2f}x" if ratio else ""))


if __name__ == "__main__":
    sys.exit(main())
