"""Start-up of torch-cuda from its compiled cache, each case in a fresh process.

    python bench/inference_start.py --models-dir DIR   (after `python -m inference build`)

Per case: seconds to load the image backend (the AOTInductor package from disk) and the
first call of each batch bucket (cuDNN algorithm choice, CUDA-graph capture). The cases
differ in what the process does with CUDA before loading the package, to find which state
the package loader needs.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRE = {
    "bare": "",
    "cuda-tensor": "torch.ones(1, device='cuda').sum().item()",
    "cublas": "(torch.ones(8, 8, device='cuda') @ torch.ones(8, 8, device='cuda')).sum().item()",
}
CHILD = """
import faulthandler, json, sys, time; faulthandler.enable(); sys.path.insert(0, {root!r})
import numpy as np, torch
{pre}
from inference import Predictor
from inference.specs import IMAGE, random_inputs
out = {{}}
t = time.perf_counter(); p = Predictor(backend="torch-cuda", models_dir={models!r}); b = p.backend(IMAGE)
out["load"] = time.perf_counter() - t
out["compiled now"] = any(k.compiled for k in b.packages.values())
for n in {batches!r}:
    x = torch.from_numpy(random_inputs(IMAGE, n, np.random.default_rng())["pixels"]).cuda(); torch.cuda.synchronize()
    t = time.perf_counter(); b.infer_torch({{"pixels": x}}); torch.cuda.synchronize()
    out[f"batch {{n}} first call"] = time.perf_counter() - t
print("RESULT " + json.dumps(out))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models-dir", required=True)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 32, 256])
    args = ap.parse_args()
    for case, pre in PRE.items():
        code = CHILD.format(root=str(ROOT), pre=pre, models=args.models_dir, batches=args.batches)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
        took = time.perf_counter() - start
        if line is None:
            print(f"{case}: exit {done.returncode} after {took:.1f}s: {done.stderr[-800:]}", flush=True)
        else:
            print(f"{case}: process {took:.1f}s; " + json.dumps(json.loads(line[7:])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
