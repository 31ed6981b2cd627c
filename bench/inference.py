"""Inference benchmark: images/s and texts/s (seq 256) per backend and batch, eager fp32
baseline in the same run, batch-1 latency, and the bulk path (stored screenshots -> features).

    python bench/inference.py [--backends tensorrt torch-cuda onnxruntime] [--json out.json]
    python bench/inference.py --backends torch-cuda --compile-variants cudnn taps --compile-text
    python bench/inference.py --backends torch-cuda --off-row --aot-static-row --reanalyze 4096 \
        --bulk-shares 0 0.5 --start-from-cache      (LINKSHOT_TORCH_COMPILE=image=aot: AOT image rows)

GPU backends are timed on device-resident inputs (the model) and batch-1 latency also host to
host; CPU backends on numpy arrays. Text is timed on token ids already on the device (the
tokenizer is not on the timed path); each timed call includes the backend's own work around
the model (padding to the bucket, the all-ones mask check, copying outputs). The eager fp32
baseline is the plain module with PyTorch's default flags (printed). Every GPU variant is
also checked against the eager fp32 outputs on the same inputs (relative error printed).
Prints a table; the last lines are the ratios.
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
from bench.inference_bulk import bench_bulk, bench_reanalyze, start_from_cache  # noqa: E402

log = logging.getLogger("bench")


def device_name() -> tuple[str, bool]:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(), True
    return f"{platform.processor() or platform.machine()} CPU x{__import__('os').cpu_count()}", False


def text_inputs(batch: int, rng) -> dict:
    x = random_inputs(TEXT, batch, rng, seq=256)
    x["attention_mask"][:] = 1  # every sequence a full 256 tokens
    return x


def ragged_text_inputs(batch: int, rng) -> dict:
    return random_inputs(TEXT, batch, rng, seq=256)  # lengths 2..256, padded to 256


def torch_flags() -> str:
    import torch

    b = torch.backends
    return (f"cuda.matmul.allow_tf32={b.cuda.matmul.allow_tf32} cudnn.allow_tf32={b.cudnn.allow_tf32} "
            f"cudnn.benchmark={b.cudnn.benchmark} float32_matmul_precision={torch.get_float32_matmul_precision()}")


def eager_module(spec):
    """The model as a user would run it: fp32, eval, transformers' default (SDPA) attention."""
    if spec is TEXT:
        from inference.models.minilm import load_text_encoder
        from inference.weights import text_model_dir

        return load_text_encoder(text_model_dir(), attn="sdpa")
    return build_module(spec)


def bench_eager(batches_img, batches_txt, cuda: bool, seconds: float, rng, refs: dict,
                benchmark_row: bool = False) -> list[Timing]:
    """PyTorch eager fp32: the plain modules, no graphs, no compile, no fp16, default flags.

    Keeps the inputs and outputs of the largest batch in `refs` for the parity checks."""
    import torch

    dev = "cuda" if cuda else "cpu"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    rows = []
    for spec, batches, make in ((IMAGE, batches_img, lambda b: random_inputs(IMAGE, b, rng)),
                                (TEXT, batches_txt, lambda b: text_inputs(b, rng))):
        if not batches:
            continue
        module = eager_module(spec).to(dev)
        for b in batches:
            x = [torch.from_numpy(v).to(dev) for v in make(b).values()]
            with torch.inference_mode():
                rows.append(measure(f"eager-fp32 {spec.name}", b, lambda: module(*x), sync, seconds, warmup=2))
            print(rows[-1].row(), flush=True)
        with torch.inference_mode():
            cases = [("", make(max(batches)))]
            if spec is TEXT and cuda:
                cases.append(("ragged", ragged_text_inputs(max(batches), rng)))
            for case, inputs in cases:
                out = module(*(torch.from_numpy(v).to(dev) for v in inputs.values()))
                out = out if isinstance(out, tuple) else (out,)
                refs[(spec.name, case)] = (inputs, {n: o.float().cpu().numpy() for n, o in zip(spec.output_names, out)})
            if benchmark_row and cuda and spec is IMAGE:
                # Informational: the same eager module with cuDNN's algorithm timing switched on.
                x = [torch.from_numpy(v).to(dev) for v in make(max(batches)).values()]
                torch.backends.cudnn.benchmark = True
                try:
                    rows.append(measure("eager-fp32+cudnn.benchmark image", max(batches), lambda: module(*x), sync,
                                        seconds, warmup=3))
                finally:
                    torch.backends.cudnn.benchmark = False
                print(rows[-1].row(), flush=True)
        del module
        if cuda:
            torch.cuda.empty_cache()
    return rows


def parity(label: str, spec, backend, refs: dict) -> None:
    """Relative error of a GPU backend against the eager fp32 outputs on the same inputs."""
    import torch

    for case in ("", "ragged"):
        if (spec.name, case) not in refs:
            continue
        inputs, want = refs[(spec.name, case)]
        if next(iter(inputs.values())).shape[0] > backend.max_batch:
            continue
        got = backend.infer_torch({k: torch.from_numpy(v).cuda() for k, v in inputs.items()})
        errs = {n: float(np.linalg.norm(got[n].cpu().numpy() - want[n]) / np.linalg.norm(want[n])) for n in want}
        ok = all(np.isfinite(e) and e < 2e-2 for e in errs.values())
        print(f"parity {label} {spec.name}{' ' + case if case else ''} vs eager fp32: "
              + " ".join(f"{n}={e:.1e}" for n, e in errs.items()) + ("" if ok else "  FAILED"), flush=True)


def bench_backend(name: str, models_dir: Path, batches_img, batches_txt, cuda: bool, seconds: float, rng,
                  refs: dict | None = None, label: str | None = None, **options) -> tuple[list[Timing], Predictor]:
    import torch

    label = label or name
    p = Predictor(backend=name, models_dir=models_dir, **options)
    rows = []
    for spec, batches, make in ((IMAGE, batches_img, lambda b: random_inputs(IMAGE, b, rng)),
                                (TEXT, batches_txt, lambda b: text_inputs(b, rng))):
        if not batches:
            continue
        start = time.perf_counter()
        backend = p.backend(spec)
        load_s = time.perf_counter() - start
        for b in batches:
            if b > backend.max_batch:
                continue
            x = make(b)
            if hasattr(backend, "infer_torch"):
                xt = {k: torch.from_numpy(v).cuda() for k, v in x.items()}
                start = time.perf_counter()
                backend.infer_torch(xt)  # first call: compile (if on), cuDNN timing, graph capture
                torch.cuda.synchronize()
                first = time.perf_counter() - start
                print(f"# {label} {spec.name} batch {b}: load {load_s:.1f}s, first call {first:.1f}s", flush=True)
                load_s = 0.0
                rows.append(measure(f"{label} {spec.name}", b, lambda: backend.infer_torch(xt),
                                    torch.cuda.synchronize, seconds))
                if b == 1:
                    print(rows[-1].row(), flush=True)
                    rows.append(measure(f"{label} {spec.name} host->host", 1, lambda: backend.infer(x),
                                        torch.cuda.synchronize, seconds))
                if spec is TEXT and b == max(batches) and refs is not None and (spec.name, "ragged") in refs:
                    print(rows[-1].row(), flush=True)
                    xr = {k: torch.from_numpy(v).cuda() for k, v in refs[(spec.name, "ragged")][0].items()}
                    backend.infer_torch(xr)
                    rows.append(measure(f"{label} {spec.name} ragged", b, lambda: backend.infer_torch(xr),
                                        torch.cuda.synchronize, seconds))
            else:
                rows.append(measure(f"{name} {spec.name}", b, lambda: backend.infer(x), min_seconds=seconds,
                                    warmup=1))
            print(rows[-1].row(), flush=True)
        if refs is not None and hasattr(backend, "infer_torch"):
            parity(label, spec, backend, refs)
    return rows, p


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
    ap.add_argument("--image-batches", type=int, nargs="*", default=None)
    ap.add_argument("--text-batches", type=int, nargs="*", default=None)
    ap.add_argument("--compile-variants", nargs="*", default=[],
                    help="also time torch-cuda + torch.compile (image), each DEPTHWISE[:MODE], "
                         "e.g. cudnn, taps, taps:default")
    ap.add_argument("--compile-text", action="store_true", help="also time torch-cuda + torch.compile (text)")
    ap.add_argument("--compile-batches", type=int, nargs="*", default=[256], help="image batches of compile runs")
    ap.add_argument("--compile-text-batches", type=int, nargs="*", default=[512])
    ap.add_argument("--eager-benchmark-row", action="store_true",
                    help="also time eager fp32 image with cudnn.benchmark on (informational)")
    ap.add_argument("--deadline", type=float, default=None, help="seconds after which compile variants are skipped")
    ap.add_argument("--profile", action="store_true", help="print the top GPU kernels of each compiled image variant")
    ap.add_argument("--bulk-shares", type=float, nargs="*", default=[],
                    help="also time the 1280x800 bulk path with these CPU shares of each batch (GPU hosts)")
    ap.add_argument("--reanalyze", type=int, default=0, help="links for the reanalyze-shaped run (0: skip)")
    ap.add_argument("--start-from-cache", action="store_true",
                    help="time a fresh process loading torch-cuda from the compiled cache, per bucket")
    ap.add_argument("--start-no-cudnn-benchmark", action="store_true",
                    help="with --start-from-cache: also start once with cuDNN's algorithm timing off")
    ap.add_argument("--off-row", action="store_true", help="also time torch-cuda without compilation")
    ap.add_argument("--aot-static-row", action="store_true",
                    help="also time image batch 256 with a static-shape AOT package (one per bucket)")
    args = ap.parse_args()
    t_start = time.perf_counter()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    rng = np.random.default_rng()
    device, cuda = device_name()
    models_dir = Path(args.models_dir or tempfile.mkdtemp(prefix="linkshot-models-"))
    batches_img = args.image_batches if args.image_batches is not None else [1, 32, 256]
    batches_txt = [] if args.no_text else args.text_batches if args.text_batches is not None else \
        [1, 32, 256, 512] if cuda else [1, 32]
    status = available_backends()
    names = args.backends or [n for n, s in status.items() if s == "ok" and (cuda or n == "onnxruntime")]
    import torch

    print(f"device: {device}; date {datetime.date.today()}; torch {torch.__version__}; backends {status}")
    print(f"flags: {torch_flags()}")
    print(HEADER)
    refs: dict = {}
    rows = [] if args.no_eager else bench_eager(batches_img, batches_txt, cuda, args.seconds, rng, refs,
                                                args.eager_benchmark_row)
    predictors = {}
    for name in names:
        try:
            got, predictors[name] = bench_backend(name, models_dir, batches_img, batches_txt, cuda, args.seconds, rng,
                                                  refs, label=name + args.label)
            rows += got
        except Exception as exc:  # report and go on with the next backend
            log.exception("backend %s failed: %s", name, exc)
    if args.off_row and cuda:
        got, _ = bench_backend("torch-cuda", models_dir, [max(batches_img)] if batches_img else [],
                               [max(batches_txt)] if batches_txt else [], cuda, args.seconds, rng, refs,
                               label="torch-cuda+off", compile="off")
        rows += got
    if args.aot_static_row and cuda and batches_img:
        got, _ = bench_backend("torch-cuda", models_dir, [max(batches_img)], [], cuda, args.seconds, rng, refs,
                               label="torch-cuda+aot-static", compile="aot", aot_shapes="static")
        rows += got
    bulk_count = args.bulk or (8192 if cuda else 256)
    for name, p in ({} if args.no_bulk else predictors).items():
        for size in ((448, 280), (1280, 800)):
            rows.append(bench_bulk(p, name, bulk_count, size, rng))
        for share in args.bulk_shares if cuda else []:
            rows.append(bench_bulk(p, name, bulk_count, (1280, 800), rng, cpu_share=share))
    for name, p in predictors.items() if args.reanalyze else []:
        rows.append(bench_reanalyze(p, name, args.reanalyze, rng))
    if args.start_from_cache and cuda:
        start_from_cache(models_dir, batches_img, [b for b in batches_txt if b == max(batches_txt)])
        if args.start_no_cudnn_benchmark:
            start_from_cache(models_dir, batches_img, [], {"cudnn_benchmark": False}, " (cudnn.benchmark off)")
    from inference.backends.torch_cuda import DEFAULT_COMPILE_MODE

    variants = []
    for v in args.compile_variants:
        dw, _, mode = v.partition(":")
        mode = mode or DEFAULT_COMPILE_MODE
        label = "torch-cuda+compile" + ("+taps" if dw == "taps" else "") + \
            ("" if mode == DEFAULT_COMPILE_MODE else "+" + mode)
        variants.append((label, args.compile_batches, [], dw, mode))
    if args.compile_text:
        variants.append(("torch-cuda+compile", [], args.compile_text_batches, "cudnn", DEFAULT_COMPILE_MODE))
    for label, b_img, b_txt, dw, mode in variants if cuda else []:
        if args.deadline and time.perf_counter() - t_start > args.deadline:
            print(f"# skipped {label} (deadline)", flush=True)
            continue
        try:
            full_refs = {k: v for k, v in refs.items() if k[1] != "ragged"}  # one compiled shape per variant
            got, p = bench_backend("torch-cuda", models_dir, b_img, b_txt, cuda, args.seconds, rng, full_refs,
                                   label=label, compile=True, depthwise=dw, compile_mode=mode)
            rows += got
            if args.profile and b_img:
                profile_kernels(label, p.backend(IMAGE), max(b_img), rng)
            p.close()
        except Exception as exc:
            log.exception("variant %s failed: %s", label, exc)
        torch.cuda.empty_cache()
    summary(rows)
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device, "date": str(datetime.date.today()),
                                               "flags": torch_flags() if cuda else "",
                                               "rows": [r.__dict__ for r in rows]}, indent=1))
    return 0


def profile_kernels(label: str, backend, batch: int, rng, top: int = 14) -> None:
    """GPU time per kernel over a few un-graphed forwards of the compiled module."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    x = torch.from_numpy(random_inputs(IMAGE, batch, rng)["pixels"]).cuda()
    with torch.inference_mode(), backend._cudnn():
        backend.forward(x)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                backend.forward(x)
            torch.cuda.synchronize()
    kernels = [e for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA]
    total = sum(e.self_device_time_total for e in kernels) / 5 / 1000
    print(f"# profile {label} batch {batch}: {total:.2f} ms of kernels per forward, {len(kernels)} kernels", flush=True)
    for e in sorted(kernels, key=lambda e: -e.self_device_time_total)[:top]:
        print(f"#   {e.self_device_time_total / 5 / 1000:7.3f} ms x{e.count // 5:<3d} {e.key[:90]}", flush=True)


def summary(rows: list[Timing]) -> None:
    base = {(r.label.split()[1], r.batch): r.per_second for r in rows if r.label.split()[0] == "eager-fp32"}
    print("\n" + HEADER + "   x eager-fp32")
    for r in rows:
        parts = r.label.split()
        ratio = base.get((parts[1], r.batch)) if len(parts) == 2 else None
        print(r.row() + (f"   {r.per_second / ratio:5.2f}x" if ratio else ""))


if __name__ == "__main__":
    sys.exit(main())
