"""onnxruntime on the CPU: batches run 16 rows at a time with the arena shrunk after each run, so a
worker's model memory stays flat; the outputs are those of a default session on the whole batch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.backends import ort_backend
from inference.specs import IMAGE, TEXT, random_inputs

ROOT = Path(__file__).resolve().parents[2]


def default_session(backend):
    import onnxruntime as ort

    return ort.InferenceSession(str(backend.onnx_path), providers=["CPUExecutionProvider"])


def test_cpu_sessions_shrink_their_arena_after_each_run(predictor):
    backend = predictor.backend(TEXT)
    assert backend.on_cpu
    assert backend.run_options.get_run_config_entry(ort_backend.ARENA_SHRINKAGE) == "cpu:0"


def test_a_cuda_session_keeps_the_default_run_options():
    import onnxruntime as ort

    options = ort_backend.run_options(ort, on_cpu=False)
    with pytest.raises(RuntimeError):  # no entry set
        options.get_run_config_entry(ort_backend.ARENA_SHRINKAGE)
    assert not ort_backend.cpu_only(["CUDAExecutionProvider", "CPUExecutionProvider"])


@pytest.mark.parametrize("spec, rows", [(TEXT, 2 * ort_backend.CPU_MAX_BATCH + 5), (IMAGE, ort_backend.CPU_MAX_BATCH + 3)])
def test_split_runs_give_the_whole_batch_outputs_of_a_default_session(predictor, spec, rows):
    backend = predictor.backend(spec)
    inputs = random_inputs(spec, rows, np.random.default_rng(7), seq=96)
    got = backend.infer(inputs)
    want = dict(zip(spec.output_names, default_session(backend).run(spec.output_names, inputs)))
    for name in spec.output_names:
        assert got[name].shape == want[name].shape
        assert np.abs(got[name] - want[name]).max() < 1e-5, name


PEAK = """
import json, sys
import numpy as np
from inference import Predictor
from inference.specs import TEXT, random_inputs
backend = Predictor(backend="onnxruntime", models_dir=sys.argv[1]).backend(TEXT)
def rss(field):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field)) / 1024
loaded = rss("VmRSS")
inputs = random_inputs(TEXT, 64, np.random.default_rng(0), seq=256)
inputs["attention_mask"][:] = 1
for _ in range(2):
    backend.infer(inputs)
print(json.dumps({"loaded": loaded, "peak": rss("VmHWM"), "after": rss("VmRSS")}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_a_full_text_batch_leaves_the_process_near_its_loaded_size(models_dir):
    # 64 chunks of 256 tokens at once kept about 1 GB more in the default arena; split and shrunk,
    # the peak is that of 16 rows and most of it is given back.
    out = subprocess.run([sys.executable, "-c", PEAK, str(models_dir)], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "LINKSHOT_ORT_THREADS": "2"}, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["peak"] - figures["loaded"] < 400, figures
    assert figures["after"] - figures["loaded"] < 150, figures
