"""TensorRT execution (either flavour): runs wherever the backend's probe passes, that is a
TensorRT library loads and a GPU it supports is present. Elsewhere every test here skips
with the probe's reason (no TensorRT; no CUDA device; TensorRT for RTX on a 9.0 GPU...)."""
import numpy as np
import pytest

from inference.backends.registry import available_backends
from inference.specs import IMAGE, TEXT, random_inputs

REASON = available_backends()["tensorrt"]
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(REASON != "ok", reason=f"TensorRT cannot run here: {REASON}")]


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def trt_predictor(models_dir):
    from inference import Predictor

    p = Predictor(backend="tensorrt", models_dir=models_dir)
    yield p
    p.close()


@pytest.mark.parametrize("spec", [IMAGE, TEXT], ids=["image", "text"])
def test_tensorrt_matches_onnxruntime(trt_predictor, predictor, rng, spec):
    inputs = random_inputs(spec, 7, rng, seq=64)
    got = trt_predictor.backend(spec).infer(inputs)
    want = predictor.backend(spec).infer(inputs)
    for name in spec.output_names:
        assert _rel(got[name], want[name]) < 2e-2, name


def test_fp32_engine_is_close_and_cached_separately(models_dir, predictor, rng):
    from inference.backends.tensorrt_backend import TensorRTBackend
    from inference.config import BatchProfile
    from inference.export import ensure_onnx

    with TensorRTBackend(IMAGE, ensure_onnx(IMAGE, models_dir), BatchProfile(1, 4, 8), models_dir, fp16=False) as b:
        inputs = random_inputs(IMAGE, 4, rng)
        assert _rel(b.infer(inputs)["logits"], predictor.backend(IMAGE).infer(inputs)["logits"]) < 1e-3
        assert "-fp32-" in b.engine_file.name
        first = b.engine_file
    with TensorRTBackend(IMAGE, ensure_onnx(IMAGE, models_dir), BatchProfile(1, 4, 8), models_dir, fp16=False) as b:
        assert b.engine_file == first  # reused, not rebuilt
    with TensorRTBackend(IMAGE, ensure_onnx(IMAGE, models_dir), BatchProfile(1, 4, 16), models_dir, fp16=False) as b:
        assert b.engine_file != first  # another profile -> another engine


def test_engine_invalidated_when_onnx_changes(models_dir, tmp_path):
    import shutil

    from inference.backends.tensorrt_backend import TensorRTBackend
    from inference.config import BatchProfile
    from inference.export import ensure_onnx
    from inference.specs import HEAD

    src = ensure_onnx(HEAD, models_dir)
    copy = tmp_path / "head.onnx"
    shutil.copy(src, copy)
    with TensorRTBackend(HEAD, copy, BatchProfile(1, 2, 4), tmp_path, fp16=False) as b:
        before = b.engine_file
    copy.write_bytes(copy.read_bytes() + b"\0")  # different bytes -> different hash
    # (trailing bytes are ignored by protobuf parsing, the file stays loadable)
    from inference.weights import file_digest
    file_digest.cache_clear()
    with TensorRTBackend(HEAD, copy, BatchProfile(1, 2, 4), tmp_path, fp16=False) as b:
        assert b.engine_file != before


def test_parser_reports_errors(tmp_path, models_dir):
    from inference.backends.tensorrt_backend import TensorRTBackend
    from inference.config import BatchProfile
    from inference.errors import BackendError

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07garbage")
    with pytest.raises(BackendError, match="could not parse"):
        TensorRTBackend(IMAGE, broken, BatchProfile(1, 1, 2), tmp_path).load()


def test_network_api_head_equals_onnx_route(models_dir):
    from inference.backends.trt_head import check_head_matches_onnx
    from inference.export import build_module, ensure_onnx
    from inference.specs import HEAD

    head = build_module(HEAD)
    errors = check_head_matches_onnx(models_dir, ensure_onnx(HEAD, models_dir), head._fc.weight.detach().numpy(),
                                     head._fc.bias.detach().numpy())
    assert all(e < 1e-4 for e in errors.values()), errors  # fp32 both ways


def test_batch_above_the_profile_is_split_and_long_text_refused(trt_predictor, predictor, rng):
    from inference.errors import InvalidTensor

    backend = trt_predictor.backend(IMAGE)
    inputs = random_inputs(IMAGE, 300, rng)  # profile max 256: two engine calls
    got = backend.infer(inputs)["features"]
    assert got.shape == (300, 1280)
    assert _rel(got, predictor.backend(IMAGE).infer(inputs)["features"]) < 2e-2
    with pytest.raises(InvalidTensor, match="outside the engine profile"):
        trt_predictor.backend(TEXT).infer(random_inputs(TEXT, 2, rng, seq=300))


def test_rtx_runtime_cache_is_written_on_close(models_dir):
    from inference.backends.tensorrt_backend import TensorRTBackend
    from inference.config import BatchProfile
    from inference.export_fp16 import ensure_onnx_variant
    from inference.specs import HEAD

    with TensorRTBackend(HEAD, ensure_onnx_variant(HEAD, "fp32", models_dir), BatchProfile(1, 2, 4), models_dir,
                         fp16=False) as b:
        b.infer(random_inputs(HEAD, 2, np.random.default_rng()))
        cache = b.engine.cache_file
    assert cache.exists() == b.flavour.rtx
