"""TensorRT logic that needs no TensorRT: runs everywhere."""
from pathlib import Path

import pytest

from inference.backends.trt_logic import (ProfileShapes, collect_parser_errors, engine_cache_key, engine_path,
                                          format_parser_failure, plan_batches, profile_shapes, workspace_bytes)
from inference.config import BatchProfile
from inference.errors import BackendUnavailable, InvalidTensor
from inference.specs import HEAD, IMAGE, TEXT


def test_default_profile_is_1_32_256():
    shapes = profile_shapes(IMAGE, BatchProfile())
    assert shapes == {"pixels": ProfileShapes((1, 224, 224, 3), (32, 224, 224, 3), (256, 224, 224, 3))}


def test_text_profile_covers_batch_and_sequence():
    shapes = profile_shapes(TEXT, BatchProfile(2, 64, 512), seq=(1, 128, 256))
    assert shapes["input_ids"] == shapes["attention_mask"] == ProfileShapes((2, 1), (64, 128), (512, 256))
    assert profile_shapes(HEAD, BatchProfile(1, 8, 16))["fmap"].max == (16, 1280, 7, 7)


@pytest.mark.parametrize("bad", [(0, 1, 2), (4, 2, 8), (1, 9, 8)])
def test_batch_profile_validation(bad):
    with pytest.raises(ValueError):
        BatchProfile(*bad)


def test_engine_key_changes_with_every_component():
    shapes = profile_shapes(IMAGE, BatchProfile())
    base = dict(flavour="tensorrt-rtx", version="1.7.1.116", targets=((8, 6), (12, 0)), precision="fp16",
                shapes=shapes, onnx_digest="a" * 64, device="")
    key = engine_cache_key(**base)
    variants = [dict(flavour="tensorrt"), dict(version="1.8.0"), dict(targets=((8, 6),)), dict(precision="fp32"),
                dict(shapes=profile_shapes(IMAGE, BatchProfile(1, 64, 256))), dict(onnx_digest="b" * 64),
                dict(device="NVIDIA L4")]
    keys = {engine_cache_key(**{**base, **v}) for v in variants}
    assert key not in keys and len(keys) == len(variants)
    assert engine_cache_key(**base) == key  # deterministic


def test_engine_path_names_flavour_targets_and_precision(tmp_path: Path):
    p = engine_path(tmp_path, "image", "trtrtx1.7.1.116", ((8, 6), (12, 0)), "fp16", "k" * 20)
    assert p.parent == tmp_path / "engines"
    assert p.name == f"image-trtrtx1.7.1.116-sm86-sm120-fp16-{'k' * 20}.engine"
    q = engine_path(tmp_path, "text", "trt10.13.0", ((9, 0),), "fp32", "k" * 20, device="NVIDIA H100 80GB HBM3")
    assert q.name == f"text-trt10.13.0-nvidia-h100-80gb-hbm3-sm90-fp32-{'k' * 20}.engine"


def test_batch_above_the_profile_is_split_into_profile_sized_calls():
    shapes = profile_shapes(IMAGE, BatchProfile(1, 32, 256))
    plan = plan_batches("image", shapes, {"pixels": (600, 224, 224, 3)})
    assert [(s.start, s.stop) for s in plan] == [(0, 256), (256, 512), (512, 600)]
    assert plan_batches("image", shapes, {"pixels": (7, 224, 224, 3)}) == [slice(0, 7)]


@pytest.mark.parametrize("shape,match", [
    ((4, 300), r"axis 1 is 300, outside the engine profile 1\.\.256"),
    ((4, 0), "axis 1 is 0"),
    ((4,), "rank 1"),
])
def test_text_outside_the_profile_is_refused_with_the_accepted_ranges(shape, match):
    shapes = profile_shapes(TEXT, BatchProfile(1, 64, 512), seq=(1, 128, 256))
    with pytest.raises(InvalidTensor, match=match):
        plan_batches("text", shapes, {"input_ids": shape, "attention_mask": shape})
    plan = plan_batches("text", shapes, {"input_ids": (1000, 256), "attention_mask": (1000, 256)})
    assert [s.stop - s.start for s in plan] == [512, 488]


def test_image_of_the_wrong_size_is_refused():
    shapes = profile_shapes(IMAGE, BatchProfile())
    with pytest.raises(InvalidTensor, match="axis 1 is 320"):
        plan_batches("image", shapes, {"pixels": (2, 320, 224, 3)})


def test_rtx_targets_parse_and_flavour_rules(monkeypatch):
    from inference.backends.trt_flavour import Flavour, parse_targets, rtx_targets

    assert parse_targets("12.0, 8.6,8.6") == ((8, 6), (12, 0))
    with pytest.raises(ValueError):
        parse_targets(" , ")
    monkeypatch.setenv("LINKSHOT_TRT_RTX_TARGETS", "8.9")
    assert rtx_targets() == ((8, 9),)
    rtx = Flavour("tensorrt-rtx", None, "tensorrt_rtx_bindings", "1.7.1.116")
    full = Flavour("tensorrt", None, "tensorrt", "10.13.0")
    assert rtx.onnx_precision("fp16") == "fp16" and full.onnx_precision("fp16") == "fp32"
    assert rtx.supports((8, 9)) and not rtx.supports((8, 6)) and not rtx.supports((9, 0))  # the targets set above
    monkeypatch.delenv("LINKSHOT_TRT_RTX_TARGETS")
    assert rtx.supports((8, 6)) and rtx.supports((12, 0)) and not rtx.supports((9, 0))
    assert full.supports((9, 0)) and rtx.builds_without_gpu and not full.builds_without_gpu


def test_unknown_flavour_is_a_clear_error():
    from inference.backends.trt_flavour import load_flavour

    with pytest.raises(BackendUnavailable, match="unknown TensorRT flavour 'tensorrt-9'"):
        load_flavour("tensorrt-9")


class _Code:
    name = "UNSUPPORTED_NODE"


class _Err:
    def __init__(self, i, broken=False):
        self.i, self.broken = i, broken

    def code(self):
        return _Code()

    def desc(self):
        return f"problem {self.i}"

    def node(self):
        return self.i

    def node_name(self):
        if self.broken:
            raise RuntimeError("no name")
        return f"/layer{self.i}/Conv"

    def node_operator(self):
        return "Conv"


class _Parser:
    def __init__(self, errors):
        self.errors = errors
        self.num_errors = len(errors)

    def get_error(self, i):
        return self.errors[i]


def test_every_parser_error_is_reported():
    lines = collect_parser_errors(_Parser([_Err(0), _Err(3), _Err(7, broken=True)]))
    assert len(lines) == 3
    assert lines[0] == "[0] UNSUPPORTED_NODE: node 0 '/layer0/Conv' (Conv): problem 0"
    assert "node 7 (Conv): problem 7" in lines[2]  # a failing accessor drops only that field
    msg = format_parser_failure(Path("m.onnx"), lines)
    assert "3 error(s)" in msg and all(line in msg for line in lines)
    assert "no details" in format_parser_failure(Path("m.onnx"), [])


def test_workspace_bounds():
    assert workspace_bytes(80 << 30) == 8 << 30
    assert workspace_bytes(16 << 30) == 4 << 30
    assert workspace_bytes(100 << 20) == 256 << 20

