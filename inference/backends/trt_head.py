"""The image pooling head built layer by layer with the TensorRT network API.

Input `fmap` (N x 1280 x 7 x 7) -> GAP -> features (L2) and logits (FC), plus the
multi-scale regional-max descriptor from pooling.py. `check_head_matches_onnx` builds both
this engine and one parsed from the exported head ONNX and compares them on random maps.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..config import BatchProfile, FEATURE_DIM
from ..specs import GRID, HEAD
from ..pooling import descriptor_windows
from .trt_logic import profile_shapes

log = logging.getLogger(__name__)
EPS = 1e-12


def build_head_network(trt, builder, fc_weight: np.ndarray, fc_bias: np.ndarray, grid: int = GRID):
    """Network definition of PoolingHead; returns (network, arrays the weights point into)."""
    net = builder.create_network(0)
    keep: list[np.ndarray] = []

    def const(array: np.ndarray):
        array = np.ascontiguousarray(array, dtype=np.float32)
        keep.append(array)
        return net.add_constant(array.shape, trt.Weights(array)).get_output(0)

    def l2norm(x, rank: int):
        sq = net.add_elementwise(x, x, trt.ElementWiseOperation.PROD).get_output(0)
        total = net.add_reduce(sq, trt.ReduceOperation.SUM, 1 << 1, True).get_output(0)
        floor = net.add_elementwise(total, const(np.full((1,) * rank, EPS)), trt.ElementWiseOperation.MAX)
        root = net.add_unary(floor.get_output(0), trt.UnaryOperation.SQRT).get_output(0)
        return net.add_elementwise(x, root, trt.ElementWiseOperation.DIV).get_output(0)

    fmap = net.add_input("fmap", trt.float32, (-1, FEATURE_DIM, grid, grid))
    spatial = (1 << 2) | (1 << 3)
    gap = net.add_reduce(fmap, trt.ReduceOperation.AVG, spatial, False).get_output(0)  # N x C
    weight_t = const(np.asarray(fc_weight).T)  # C x K
    mm = net.add_matrix_multiply(gap, trt.MatrixOperation.NONE, weight_t, trt.MatrixOperation.NONE).get_output(0)
    logits = net.add_elementwise(mm, const(np.asarray(fc_bias)[None, :]), trt.ElementWiseOperation.SUM).get_output(0)
    regions = None
    for w in descriptor_windows(grid):
        pool = net.add_pooling_nd(fmap, trt.PoolingType.MAX, (w.window, w.window))
        pool.stride_nd = (w.stride, w.stride)
        normed = l2norm(pool.get_output(0), 4)
        summed = net.add_reduce(normed, trt.ReduceOperation.SUM, spatial, False).get_output(0)
        regions = summed if regions is None else net.add_elementwise(
            regions, summed, trt.ElementWiseOperation.SUM).get_output(0)
    for name, tensor in (("features", l2norm(gap, 2)), ("descriptors", l2norm(regions, 2)), ("logits", logits)):
        tensor.name = name
        net.mark_output(tensor)
    return net, keep


def head_routes(flavour, models_dir: Path, onnx_path: Path, fc_weight: np.ndarray, fc_bias: np.ndarray,
                shapes: dict, precision: str = "fp32") -> dict[str, dict]:
    """Build the head both ways (network API, OnnxParser) and return, per route, the
    engine file and the network's structure as the builder sees it. Needs no GPU with
    TensorRT for RTX."""
    from .trt_build import build_engine, make_logger, network_structure, parse_onnx

    trt = flavour.trt
    logger = make_logger(trt)
    out = {}
    for route in ("api", "onnx"):
        if route == "api":
            def network_fn(builder):
                return build_head_network(trt, builder, fc_weight, fc_bias)
            source = None
        else:
            def network_fn(builder):
                return parse_onnx(trt, logger, builder, onnx_path)
            source = onnx_path
        builder = trt.Builder(logger)  # outlives the network it creates
        network, keep = network_fn(builder)
        built = build_engine(flavour, models_dir, f"head-{route}", shapes, precision, onnx_path=source,
                             network_fn=network_fn, logger=logger)
        out[route] = {"engine": built, "structure": network_structure(network, shapes)}
        del network, keep, builder
    return out


def check_head_matches_onnx(models_dir: Path, onnx_path: Path, fc_weight: np.ndarray, fc_bias: np.ndarray,
                            batch: int = 8, precision: str = "fp32", rng: np.random.Generator | None = None
                            ) -> dict[str, float]:
    """Relative error per output between the network-API head and the ONNX-parsed head (GPU)."""
    import torch

    from .tensorrt_backend import load_or_build
    from .trt_build import make_logger
    from .trt_flavour import load_flavour

    flavour = load_flavour()
    logger = make_logger(flavour.trt)
    shapes = profile_shapes(HEAD, BatchProfile(1, batch, max(batch, 32)))
    api, _ = load_or_build(flavour, logger, models_dir, "head-api", shapes, precision,
                           network_fn=lambda b: build_head_network(flavour.trt, b, fc_weight, fc_bias))
    parsed, _ = load_or_build(flavour, logger, models_dir, "head-onnx", shapes, precision, onnx_path=onnx_path)
    rng = rng or np.random.default_rng()
    fmap = torch.from_numpy(rng.uniform(0, 6, (batch, FEATURE_DIM, GRID, GRID)).astype(np.float32)).cuda()
    a, b = api.run({"fmap": fmap}), parsed.run({"fmap": fmap})
    torch.cuda.synchronize()
    return {k: float((a[k].float() - b[k].float()).norm() / b[k].float().norm()) for k in HEAD.output_names}
