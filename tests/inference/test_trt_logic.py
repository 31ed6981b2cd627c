"""TensorRT logic that needs no TensorRT: runs everywhere."""
from pathlib import Path

import pytest

from inference.backends.trt_logic import (ProfileShapes, collect_parser_errors, engine_cache_key, engine_path,
                                          format_parser_failure, profile_shapes, workspace_bytes)
from inference.config import BatchProfile
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
    base = dict(gpu_name="NVIDIA H100 80GB HBM3", compute_capability=(9, 0), trt_version="10.13.0",
                onnx_digest="a" * 64, fp16=True, shapes=shapes)
    key = engine_cache_key(**base)
    variants = [dict(gpu_name="NVIDIA L4"), dict(compute_capability=(8, 9)), dict(trt_version="10.14.1"),
                dict(onnx_digest="b" * 64), dict(fp16=False), dict(shapes=profile_shapes(IMAGE, BatchProfile(1, 64, 256)))]
    keys = {engine_cache_key(**{**base, **v}) for v in variants}
    assert key not in keys and len(keys) == len(variants)
    assert engine_cache_key(**base) == key  # deterministic


def test_engine_path_names_gpu_and_versions(tmp_path: Path):
    p = engine_path(tmp_path, "image", "NVIDIA H100 80GB HBM3", (9, 0), "10.13.0", "k" * 20, True)
    assert p.parent == tmp_path / "engines"
    assert p.name == f"image-nvidia-h100-80gb-hbm3-sm90-trt10.13.0-fp16-{'k' * 20}.engine"


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
