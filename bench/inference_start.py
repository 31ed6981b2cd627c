"""Start-up of torch-cuda's compiled image model from its disk cache, case by case, each in a fresh process.

    python bench/inference_start.py --models-dir DIR [--cases NAME ...] [--batch 256] [--out FILE]

A case is an Inductor mode (COMPILE_MODES in inference/backends/torch_cuda.py), cuDNN's algorithm
choice (timing on or off, and how many algorithms it times: torch.backends.cudnn.benchmark_limit)
and whether the process touches cuDNN once before the bucket's first call ("warm": one small
convolution, so the first call shows what is paid per bucket rather than once per process). The
first process of each mode compiles into an empty cache ("cold"); every later one starts from it.

Per process: the backend's load, the warm-up, the bucket's first call (Dynamo's trace, the cached
graph's load, cuDNN's choice, the CUDA-graph capture), Dynamo's own breakdown, and the throughput
after, against eager fp32 measured by this script in a process of its own (the ratio the targets
are stated in).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name: (Inductor mode, cuDNN timing, algorithms timed, touch cuDNN before the first call)
CASES = {
    "frozen": ("library-autotune-frozen", True, 10, False),
    "frozen-limit3-warm": ("library-autotune-frozen", True, 3, True),
    "frozen-heuristic-warm": ("library-autotune-frozen", False, 10, True),
    "unfrozen": ("library-autotune", True, 10, False),
    "unfrozen-limit3-warm": ("library-autotune", True, 3, True),
    "unfrozen-heuristic-warm": ("library-autotune", False, 10, True),
}

CHILD = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import numpy as np, torch
from inference import Predictor
from inference.specs import IMAGE, random_inputs
from inference.timing import measure
mode, timing, limit, warm, batch, seconds = {args!r}
torch.backends.cudnn.benchmark_limit = limit
out = {{"imports s": time.perf_counter() - t0}}
t = time.perf_counter()
backend = Predictor(backend="torch-cuda", models_dir={models!r}, compile_mode=mode, cudnn_benchmark=timing).backend(IMAGE)
out["load s"] = time.perf_counter() - t
if warm:  # cuDNN's libraries and handle, once per process: a depthwise and a pointwise convolution
    t = time.perf_counter()
    x = torch.randn(1, 32, 16, 16, device="cuda", dtype=torch.half).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        torch.nn.functional.conv2d(torch.nn.functional.conv2d(x, torch.randn(32, 1, 3, 3, device="cuda",
            dtype=torch.half), groups=32), torch.randn(16, 32, 1, 1, device="cuda", dtype=torch.half))
    torch.cuda.synchronize()
    out["warm s"] = time.perf_counter() - t
pixels = torch.from_numpy(random_inputs(IMAGE, batch, np.random.default_rng())["pixels"]).cuda()
torch.cuda.synchronize()
t = time.perf_counter()
backend.infer_torch({{"pixels": pixels}})
torch.cuda.synchronize()
out["first call s"] = time.perf_counter() - t
out["of which first forward s"] = list(backend.first_forward_seconds.values())[-1]
out["items/s"] = measure("start", batch, lambda: backend.infer_torch({{"pixels": pixels}}),
                         torch.cuda.synchronize, seconds).per_second
from inference.backends.compile_cache import cache_hits
out["fx graph cache"] = cache_hits()
out["dynamo"] = torch._dynamo.utils.compile_times(repr="str")[:1500]
print("RESULT " + json.dumps(out))
"""

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


def child(code: str, timeout: float) -> dict:
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {timeout:.0f} s"}
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        return {"error": f"exit {done.returncode}: {done.stderr[-1500:]}"}
    return {**json.loads(line[7:]), "process s": time.perf_counter() - start}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir", type=Path, required=True)
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=240.0, help="seconds a process may take")
    ap.add_argument("--out", type=Path, help="append each result to this file as a JSON line")
    args = ap.parse_args()
    rows = [("eager fp32", child(EAGER.format(root=str(ROOT), batch=args.batch, seconds=args.seconds), args.timeout))]
    report(rows[-1], args.out)
    compiled: set[str] = set()
    for name in args.cases:
        mode, timing, limit, warm = CASES[name]
        runs = [] if mode in compiled else ["cold"]
        compiled.add(mode)
        for run in runs + ["from cache"]:
            code = CHILD.format(root=str(ROOT), models=str(args.models_dir),
                                args=(mode, timing, limit, warm, args.batch, args.seconds))
            rows.append((f"{name} ({run})", child(code, args.timeout)))
            report(rows[-1], args.out)
    baseline = rows[0][1].get("items/s")
    print("\ncase | load s | warm s | first call s | items/s | x eager fp32")
    for label, r in rows[1:]:
        ratio = f"{r['items/s'] / baseline:.2f}" if baseline and "items/s" in r else "-"
        print(f"{label} | {r.get('load s', 0):.1f} | {r.get('warm s', 0):.2f} | {r.get('first call s', 0):.1f} | "
              f"{r.get('items/s', 0):,.0f} | {ratio}")
    return 0


def report(row: tuple[str, dict], out: Path | None) -> None:
    label, result = row
    print(f"# {label}: {json.dumps(result)}", flush=True)
    if out is not None:
        with out.open("a") as f:
            f.write(json.dumps({"case": label, **result}) + "\n")


if __name__ == "__main__":
    sys.exit(main())
