"""Real TensorRT engines built on this machine (no GPU needed) with TensorRT for RTX.

CI installs it from requirements-tensorrt.txt; elsewhere these tests skip with the reason.
Every exported graph (image, text, pooling head; fp32 and fp16) is parsed and built with the
product's profiles, both routes of the head are built and compared, and parser and builder
errors are checked to come back with their details.
"""
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from inference.backends.trt_flavour import load_flavour
from inference.config import Settings
from inference.errors import BackendError
from inference.specs import HEAD, IMAGE, SPECS, TEXT

try:
    FLAVOUR = load_flavour("tensorrt-rtx")
except Exception as exc:  # noqa: BLE001 - the reason goes into the skip message
    pytest.skip(f"TensorRT for RTX is not installed here ({exc})", allow_module_level=True)

PRECISIONS = ("fp32", "fp16")


@pytest.fixture(scope="session")
def engines(models_dir: Path) -> dict:
    """Every model x precision built once per session (about 10 s on two cores)."""
    from inference.engines import build_engines

    built = {}
    for artefact in build_engines(models_dir, PRECISIONS, "tensorrt-rtx"):
        built[tuple(artefact.name.split()[i] for i in (0, 3))] = artefact
    return built


@pytest.mark.parametrize("model", ["image", "text", "head"])
@pytest.mark.parametrize("precision", PRECISIONS)
def test_every_graph_builds_an_engine(engines, model, precision):
    artefact = engines[(model, precision)]
    assert artefact.kind == "engine", artefact.note
    assert artefact.path.exists() and artefact.size == artefact.path.stat().st_size > 1_000_000
    assert f"-trtrtx{FLAVOUR.version}-" in artefact.path.name and f"-{precision}-" in artefact.path.name
    assert "-sm86-" in artefact.path.name and "-sm120-" in artefact.path.name  # built for several GPUs


def test_fp16_engines_are_smaller_and_cached(engines, models_dir):
    from inference.engines import build_engines

    for model in ("image", "text"):
        assert engines[(model, "fp16")].size < 0.8 * engines[(model, "fp32")].size  # half-size weights
    again = {a.name: a for a in build_engines(models_dir, ("fp16",), "tensorrt-rtx")}
    assert all(a.note == "cached" for a in again.values())
    assert {a.path for a in again.values()} == {engines[(m, "fp16")].path for m in ("image", "text", "head")}


@pytest.mark.parametrize("spec", [IMAGE, TEXT, HEAD], ids=lambda s: s.name)
@pytest.mark.parametrize("precision", PRECISIONS)
def test_parsed_networks_keep_the_io_contract(models_dir, spec, precision):
    from inference.backends.trt_build import make_logger, network_structure, parse_onnx
    from inference.backends.trt_logic import profile_shapes
    from inference.export_fp16 import ensure_onnx_variant

    trt = FLAVOUR.trt
    logger = make_logger(trt)
    builder = trt.Builder(logger)
    network, _parser = parse_onnx(trt, logger, builder, ensure_onnx_variant(spec, precision, models_dir))
    settings = Settings()
    profile = settings.text_profile if spec is TEXT else settings.image_profile
    s = network_structure(network, profile_shapes(spec, profile))
    assert [(n, d) for n, d, _ in s["inputs"]] == [(t.name, t.dtype.replace("float32", "FLOAT").upper())
                                                   for t in spec.inputs]
    assert [(n, d) for n, d, _ in s["outputs"]] == [(t.name, "FLOAT") for t in spec.outputs]  # fp32 I/O kept
    if spec is IMAGE:
        assert s["shapes"]["min"]["pixels"] == (1, 224, 224, 3) and s["shapes"]["max"]["pixels"] == (256, 224, 224, 3)
        assert s["shapes"]["opt"]["logits"] == (32, 1000)
    if spec is TEXT:
        assert s["shapes"]["max"]["input_ids"] == (512, 256) and s["shapes"]["opt"]["attention_mask"] == (64, 128)


def test_head_network_api_and_onnx_routes_build_the_same_structure(models_dir):
    from inference.backends.trt_head import head_routes
    from inference.backends.trt_logic import profile_shapes
    from inference.config import BatchProfile
    from inference.export import build_module, ensure_onnx

    head = build_module(HEAD)
    shapes = profile_shapes(HEAD, BatchProfile(1, 32, 256))
    routes = head_routes(FLAVOUR, models_dir, ensure_onnx(HEAD, models_dir), head._fc.weight.detach().numpy(),
                         head._fc.bias.detach().numpy(), shapes)
    api, parsed = routes["api"], routes["onnx"]
    assert api["engine"].path != parsed["engine"].path and api["engine"].size > 1_000_000
    assert api["structure"] == parsed["structure"]
    assert api["structure"]["shapes"]["max"] == {"fmap": (256, 1280, 7, 7), "features": (256, 1280),
                                                 "descriptors": (256, 1280), "logits": (256, 1000)}


def _graph(nodes, inputs, outputs, path: Path, opset: int = 17) -> Path:
    model = helper.make_model(helper.make_graph(nodes, "g", inputs, outputs),
                              opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("com.linkshot", 1)])
    onnx.save(model, path)
    return path


def _build(path: Path, models_dir: Path, shapes=None):
    from inference.backends.trt_build import build_engine
    from inference.backends.trt_logic import ProfileShapes

    shapes = shapes or {"x": ProfileShapes((1, 4, 4, 3), (2, 4, 4, 3), (4, 4, 4, 3))}
    return build_engine(FLAVOUR, models_dir, path.stem, shapes, "fp32", onnx_path=path)


def test_transpose_on_uint8_is_refused_and_reported(tmp_path):
    """The defect the image graph had: Transpose before the cast. The parser says why."""
    x = helper.make_tensor_value_info("x", TensorProto.UINT8, ["n", 4, 4, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3, 4, 4])
    path = _graph([helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
                   helper.make_node("Cast", ["t"], ["y"], to=TensorProto.FLOAT)], [x], [y], tmp_path / "bad.onnx")
    with pytest.raises(BackendError, match=r"(?s)could not parse .*Transpose.*UInt8"):
        _build(path, tmp_path)
    fixed = _graph([helper.make_node("Cast", ["x"], ["c"], to=TensorProto.FLOAT),
                    helper.make_node("Transpose", ["c"], ["y"], perm=[0, 3, 1, 2])], [x], [y], tmp_path / "good.onnx")
    assert _build(fixed, tmp_path).path.exists()


def test_unsupported_op_and_corrupt_file_are_reported(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4, 4, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4, 4, 3])
    path = _graph([helper.make_node("Frobnicate", ["x"], ["y"], domain="com.linkshot", name="frob")], [x], [y],
                  tmp_path / "custom.onnx")
    with pytest.raises(BackendError, match=r"(?s)1 error\(s\).*frob.*Frobnicate"):
        _build(path, tmp_path)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07garbage" + bytes(range(256)))
    with pytest.raises(BackendError, match="could not parse"):
        _build(broken, tmp_path)


def test_builder_errors_are_reported(tmp_path, models_dir):
    """A profile that contradicts the graph (4-channel pixels) fails in the builder, with its words."""
    from inference.backends.trt_logic import ProfileShapes
    from inference.export import ensure_onnx

    shapes = {"pixels": ProfileShapes((1, 224, 224, 4), (2, 224, 224, 4), (4, 224, 224, 4))}
    with pytest.raises(BackendError) as info:
        _build(ensure_onnx(IMAGE, models_dir), tmp_path, shapes)
    message = str(info.value)
    assert "engine build failed" in message and "pixels" in message and "axis 3" in message, message


def test_cli_build_and_info_list_engines_and_flavours(models_dir, capsys):
    import json

    from inference.__main__ import main

    assert main(["--models-dir", str(models_dir), "build", "--precision", "fp16", "--flavour", "tensorrt-rtx"]) == 0
    lines = capsys.readouterr().out.splitlines()
    engines = [ln for ln in lines if ln.startswith("engine ")]
    assert len(engines) == 3 and all(".engine (" in ln and " MB)" in ln for ln in engines)
    assert any(ln.startswith("onnx image fp16: ") for ln in lines)
    assert main(["--models-dir", str(models_dir), "info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["tensorrt_flavours"]["tensorrt-rtx"].endswith(FLAVOUR.version)
    assert len(info["cached"]["engines"]) >= 3 and all(e["bytes"] > 0 for e in info["cached"]["engines"])
    if not info["backends"]["tensorrt"] == "ok":  # no GPU here: the reason names what is missing
        assert "tensorrt-rtx" in info["backends"]["tensorrt"] and "CUDA device" in info["backends"]["tensorrt"]


@pytest.mark.parametrize("spec", [IMAGE, TEXT, HEAD], ids=lambda s: s.name)
def test_fp16_graphs_match_pytorch_through_onnxruntime(models_dir, spec, rng):
    import onnxruntime as ort
    import torch

    from inference.export import build_module
    from inference.export_fp16 import ensure_onnx_variant
    from inference.specs import random_inputs

    session = ort.InferenceSession(str(ensure_onnx_variant(spec, "fp16", models_dir)), providers=["CPUExecutionProvider"])
    inputs = random_inputs(spec, 3, rng, seq=int(rng.integers(8, 60)))
    got = session.run(spec.output_names, inputs)
    with torch.no_grad():
        want = build_module(spec)(*(torch.from_numpy(inputs[n]) for n in spec.input_names))
    want = want if isinstance(want, tuple) else (want,)
    for name, g, w in zip(spec.output_names, got, want):
        assert g.dtype == np.float32, name
        assert np.linalg.norm(g - w.numpy()) / np.linalg.norm(w.numpy()) < 2e-2, name
    assert SPECS[spec.name] is spec
