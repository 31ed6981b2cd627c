"""Start-up of torch-cuda's compiled image model from its disk cache, case by case, each in a fresh process.

    python bench/inference_start.py --models-dir DIR [--cases NAME ...] [--batch 256] [--out FILE]

A case is an Inductor mode (COMPILE_MODES in inference/backends/torch_cuda.py) and cuDNN's algorithm
choice (timing on or off, and how many algorithms it times: LINKSHOT_CUDNN_BENCHMARK_LIMIT). The
backend sets cuDNN up once at the image model's load (its libraries and handle), so the bucket's
first call shows what is paid per bucket rather than once per process. The first process of each
mode compiles into an empty cache ("cold"); every later one starts from it.

Each process is bench/inference_bulk.py's measure_start: the backend's load, the warm-up, the
bucket's first call (Dynamo's trace, the cached graph's load, cuDNN's choice, the CUDA-graph
capture), Dynamo's own breakdown, and the throughput after, against eager fp32 measured by this
script in a process of its own (the ratio the targets are stated in).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.inference_bulk import AS_SHIPPED, start_from_cache  # noqa: E402

# name: (Inductor mode, cuDNN timing, algorithms timed[, more variables])
CASES = {
    "frozen": ("library-autotune-frozen", True, 10),
    "frozen-limit3": ("library-autotune-frozen", True, 3),
    "frozen-heuristic": ("library-autotune-frozen", False, 10),
    "unfrozen": ("library-autotune", True, 10),
    "unfrozen-limit3": ("library-autotune", True, 3),
    "unfrozen-limit2": ("library-autotune", True, 2),
    "unfrozen-heuristic": ("library-autotune", False, 10),
    # The same two modes with torch's own warm start, which tunes some kernels again (the baseline).
    "frozen-as-shipped": ("library-autotune-frozen", True, 10, {AS_SHIPPED: "1"}),
    "unfrozen-limit3-as-shipped": ("library-autotune", True, 3, {AS_SHIPPED: "1"}),
    "unfrozen-no-descent-limit3": ("library-autotune-no-descent", True, 3),
    "unfrozen-no-descent-limit2": ("library-autotune-no-descent", True, 2),
    # Dynamo's own cache of its traced frames too (torch's experimental caching precompile): a
    # start from it skips the trace; its first process fills that cache ("cold").
    "unfrozen-limit3-precompile": ("library-autotune", True, 3, {"TORCH_CACHING_PRECOMPILE": "1"}),
}

EAGER = """
import json, sys
sys.path.insert(0, {root!r})
import numpy as np, torch
from inference.export import build_module
from inference.specs import IMAGE, random_inputs
from inference.timing import measure
module = build_module(IMAGE).cuda().eval()
pixels = torch.from_numpy(random_inputs(IMAGE, {batch}, np.random.default_rng())["pixels"]).cuda()
with torch.inference_mode():
    t = measure("eager", {batch}, lambda: module(pixels), torch.cuda.synchronize, {seconds})
print("RESULT " + json.dumps({{"items/s": t.per_second}}))
"""


def eager_fp32(batch: int, seconds: float, timeout: float) -> float | None:
    """Images/s of the plain fp32 module, default flags, in a process of its own."""
    code = EAGER.format(root=str(ROOT), batch=batch, seconds=seconds)
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    except subprocess.TimeoutExpired:
        return None
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        print(f"# eager fp32 failed (exit {done.returncode}): {done.stderr[-1500:]}", flush=True)
        return None
    return json.loads(line[7:])["items/s"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir", type=Path, required=True)
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=240.0, help="seconds a process may take")
    ap.add_argument("--out", type=Path, help="append each result to this file as a JSON line")
    args = ap.parse_args()
    baseline = eager_fp32(args.batch, args.seconds, args.timeout)
    print(f"# eager fp32: {baseline} img/s", flush=True)
    rows, compiled = [], set()
    for name in args.cases:
        mode, timing, limit, *rest = CASES[name]
        more = rest[0] if rest else {}
        # What the compiled graphs depend on: the mode and the variables other than the bench's own.
        caches = (mode, tuple(sorted((k, v) for k, v in more.items() if not k.startswith("BENCH_"))))
        runs = [] if caches in compiled else ["cold"]
        compiled.add(caches)
        for run in runs + ["from cache"]:
            result = start_from_cache(args.models_dir, [args.batch], [], {"compile_mode": mode, "cudnn_benchmark": timing},
                                      f" {name} ({run})",
                                      variables={"LINKSHOT_CUDNN_BENCHMARK_LIMIT": str(limit), **more}, timeout=args.timeout)
            # Named by what the process found: a models folder used before may hold the mode's graphs already.
            misses = result.get("fx graph cache", {}).get("miss")
            label = f"{name} ({'cold' if misses else 'from cache' if misses == 0 else run})"
            rows.append((label, result))
            if args.out is not None:
                with args.out.open("a") as f:
                    f.write(json.dumps({"case": label, "eager fp32 items/s": baseline, **result}) + "\n")
    summary(rows, args.batch, baseline)
    return 0


def summary(rows: list[tuple[str, dict]], batch: int, baseline: float | None) -> None:
    print("\ncase | load s | of which cuDNN set-up s | first call s | items/s | x eager fp32")
    for label, r in rows:
        speed = r.get(f"image batch {batch} items/s")
        ratio = f"{speed / baseline:.2f}" if baseline and speed else "-"
        print(f"{label} | {r.get('image load', 0):.1f} | {r.get('cudnn set-up', 0):.2f} | "
              f"{r.get(f'image batch {batch} first call', 0):.1f} | {speed or 0:,.0f} | {ratio}")


if __name__ == "__main__":
    sys.exit(main())
