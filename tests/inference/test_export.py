"""ONNX export: parity with PyTorch on fresh random inputs, hash-keyed cache."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from inference.errors import ExportError
from inference.export import OPSET, build_module, cache_key, check_parity, ensure_onnx, onnx_path
from inference.specs import HEAD, IMAGE, TEXT, random_inputs


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("spec", [IMAGE, TEXT], ids=["image", "text"])
def test_onnxruntime_matches_pytorch_fp32(spec, models_dir, rng):
    module = build_module(spec)
    session = ort.InferenceSession(str(ensure_onnx(spec, models_dir)), providers=["CPUExecutionProvider"])
    for batch in (1, 5):  # dynamic batch axis
        inputs = random_inputs(spec, batch, rng, seq=int(rng.integers(8, 80)))
        got = session.run(spec.output_names, inputs)
        with torch.no_grad():
            want = module(*(torch.from_numpy(inputs[n]) for n in spec.input_names))
        want = want if isinstance(want, tuple) else (want,)
        for name, g, w in zip(spec.output_names, got, want):
            assert g.shape == tuple(w.shape), name
            assert _rel(g, w.numpy()) <= 1e-4, name


def test_export_graph_contract(models_dir):
    model = onnx.load(str(ensure_onnx(IMAGE, models_dir)), load_external_data=False)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= OPSET >= 17
    (inp,) = model.graph.input
    assert inp.name == "pixels" and inp.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert inp.type.tensor_type.shape.dim[0].dim_param  # dynamic batch
    assert [o.name for o in model.graph.output] == ["features", "descriptors", "logits"]
    assert not any(n.op_type == "Dropout" for n in model.graph.node)  # exported in eval mode
    # TensorRT refuses Transpose (and nearly every layer) on uint8: the pixels are cast first.
    (first,) = [n for n in model.graph.node if "pixels" in n.input]
    assert first.op_type == "Cast" and first.attribute[0].i == onnx.TensorProto.FLOAT


def test_parity_check_catches_train_mode(models_dir):
    # BatchNorm with batch statistics (train mode) computes something else than the export.
    module = build_module(IMAGE).train()
    with pytest.raises(ExportError, match="differs from PyTorch"):
        check_parity(module, IMAGE, ensure_onnx(IMAGE, models_dir))


def test_cache_reused_and_keyed_by_weights_and_code(models_dir):
    path = ensure_onnx(IMAGE, models_dir)
    mtime = path.stat().st_mtime_ns
    assert ensure_onnx(IMAGE, models_dir) == path and path.stat().st_mtime_ns == mtime  # not re-exported
    assert path == onnx_path(IMAGE, models_dir) and cache_key(IMAGE) in path.name
    base = cache_key(IMAGE, weights_digest="w1", code=b"code")
    assert cache_key(IMAGE, weights_digest="w2", code=b"code") != base
    assert cache_key(IMAGE, weights_digest="w1", code=b"code2") != base
    assert cache_key(TEXT, weights_digest="w1", code=b"code") != base


def test_changed_weights_give_a_new_file(models_dir, tmp_path, monkeypatch):
    from inference import weights

    from safetensors.torch import load_file, save_file

    packed = weights.pack(tmp_path / "packed", half=True)
    image_file = packed / weights.IMAGE_FILE
    state = load_file(str(image_file))
    state["head._fc.bias"][0] += 0.5  # retrained weights, in effect
    save_file(state, str(image_file))
    original = onnx_path(HEAD, models_dir)
    monkeypatch.setenv(weights.ENV_WEIGHTS_DIR, str(packed))
    changed = onnx_path(HEAD, models_dir)
    assert changed != original  # other weights -> another key
    assert not changed.exists() and ensure_onnx(HEAD, models_dir) == changed  # rebuilt on demand
