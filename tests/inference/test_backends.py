"""Backend registry and the validation at the backend boundary (CPU)."""
import subprocess
import sys

import numpy as np
import pytest

from inference.backends.registry import available_backends, normalise_name
from inference.errors import BackendUnavailable, InvalidTensor
from inference.specs import IMAGE, TEXT, random_inputs


def test_unknown_backend_is_a_clear_error(monkeypatch):
    with pytest.raises(BackendUnavailable, match="unknown backend 'tpu'"):
        normalise_name("tpu")
    monkeypatch.setenv("LINKSHOT_INFERENCE_BACKEND", "ort")
    assert normalise_name(None) == "onnxruntime"
    assert normalise_name("auto") is None


def test_requested_backend_that_cannot_load_names_what_is_missing(models_dir):
    from inference import Predictor

    status = available_backends()
    assert status["onnxruntime"] == "ok"
    for name, needle in (("tensorrt", "import tensorrt|no CUDA device|does not run on"), ("torch-cuda", "CUDA")):
        if status[name] == "ok":
            continue
        with pytest.raises(BackendUnavailable, match=needle):
            Predictor(backend=name, models_dir=models_dir).embed_texts(["x"])


def test_auto_choice_falls_back_to_a_working_backend(models_dir):
    from inference import Predictor

    p = Predictor(models_dir=models_dir)
    assert p.embed_texts(["hello"]).shape == (1, 384)
    expected = next(n for n, s in available_backends().items() if s == "ok")
    assert p.backend_names()["text"] == expected


@pytest.mark.parametrize("mutate,match", [
    (lambda x: {"pixels": x["pixels"].astype(np.float32)}, "dtype float32"),
    (lambda x: {"pixels": x["pixels"][:, :100]}, "shape"),
    (lambda x: {"image": x["pixels"]}, "missing"),
    (lambda x: {"pixels": x["pixels"][:0]}, "batch 0"),
])
def test_image_backend_rejects_bad_tensors(predictor, rng, mutate, match):
    backend = predictor.backend(IMAGE)
    with pytest.raises(InvalidTensor, match=match):
        backend.infer(mutate(random_inputs(IMAGE, 2, rng)))


def test_batch_over_profile_max_is_rejected(predictor, rng):
    backend = predictor.backend(IMAGE)
    big = {"pixels": np.zeros((backend.max_batch + 1, 224, 224, 3), np.uint8)}
    with pytest.raises(InvalidTensor, match="exceeds"):
        backend.infer(big)


def test_text_backend_rejects_bad_tensors(predictor, rng):
    backend = predictor.backend(TEXT)
    good = random_inputs(TEXT, 2, rng, seq=16)
    with pytest.raises(InvalidTensor, match="vocabulary"):
        backend.infer({**good, "input_ids": good["input_ids"] + 40000})
    with pytest.raises(InvalidTensor, match="differ|shape"):
        backend.infer({**good, "attention_mask": good["attention_mask"][:, :8]})
    with pytest.raises(InvalidTensor, match="int32"):
        backend.infer({**good, "input_ids": good["input_ids"].astype(np.int32)})


def test_import_is_light_and_django_free():
    code = ("import sys, inference, inference.errors, inference.config, inference.backends.trt_logic; "
            "bad = [m for m in ('torch', 'django', 'tensorrt', 'onnxruntime') if m in sys.modules]; "
            "print(','.join(bad)); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"imported at package import: {done.stdout} {done.stderr}"
