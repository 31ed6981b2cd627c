"""The GPU forms of the models run by the torch-cuda backend, as plain modules.

`fast_module` builds what torch-cuda runs (fp16, BatchNorm folded, channels_last, the fused
MiniLM); `graph_module` wraps it into the exact forward that is captured, compiled or
exported: uint8 pixels -> (features, descriptors, logits), token ids (and mask) -> embeddings.
`aot_spec` describes one ahead-of-time package of such a forward (aot_cache.py).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import IMAGE_SIZE
from ..specs import GRID, HEAD, IMAGE, TEXT, ModelSpec
from .aot_cache import AotSpec

MAX_TEXT_POSITIONS = 512


def fast_module(spec: ModelSpec, depthwise: str = "cudnn") -> nn.Module:
    """The spec's module in torch-cuda's form, on the CPU (move it to the device after)."""
    from ..export import build_module
    from ..models.efficientnet import fold_batchnorm

    if spec is TEXT:
        from ..models.minilm import load_text_encoder
        from ..models.minilm_fast import FusedTextEncoder
        from ..weights import text_model_dir

        return FusedTextEncoder.from_encoder(load_text_encoder(text_model_dir(), attn="sdpa")).half().eval()
    module = fold_batchnorm(build_module(spec))
    if depthwise == "taps" and hasattr(module, "backbone"):
        from ..models.fast_image import use_tap_depthwise

        use_tap_depthwise(module)
    module = module.half().to(memory_format=torch.channels_last)
    if hasattr(module, "head"):
        module.head.float()  # the tiny head stays fp32: norms of 1280-d sums
    return module.eval()


class ImageForward(nn.Module):
    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, pixels: torch.Tensor):
        m = self.encoder
        fmap = m.backbone(m.preprocess(pixels).contiguous(memory_format=torch.channels_last))
        return m.head(fmap.float())


class HeadForward(nn.Module):
    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, fmap: torch.Tensor):
        return self.head(fmap.float())


class TextForward(nn.Module):
    """Full rows (every mask all ones: no mask, flash attention) or masked rows."""

    def __init__(self, encoder: nn.Module, masked: bool):
        super().__init__()
        self.encoder = encoder
        self.masked = masked

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None):
        return self.encoder(input_ids, attention_mask if self.masked else None)


def graph_module(spec: ModelSpec, module: nn.Module, masked: bool = True) -> nn.Module:
    if spec is TEXT:
        return TextForward(module, masked)
    if spec is HEAD:
        return HeadForward(module)
    return ImageForward(module)


def text_variant(masked: bool) -> str:
    return "masked" if masked else "full"


def aot_spec(spec: ModelSpec, max_batch: int, variant: str, inductor: dict[str, Any], depthwise: str,
             static_shape: tuple[int, ...] | None = None) -> AotSpec:
    """One package: the batch axis symbolic over 1..max_batch (text: the sequence axis too),
    or with `static_shape` one fixed input shape (the leading input's; text: batch x sequence)."""
    name = spec.name + ("-taps" if depthwise == "taps" and spec is IMAGE else "")
    if static_shape is not None:
        return _static_spec(spec, name, variant, static_shape, inductor)
    example_batch = min(max_batch, 32)  # a size hint for tuning; any batch in range runs
    if spec is TEXT:
        shapes = {"input_ids": (example_batch, 128), "attention_mask": (example_batch, 128)}
        axes = {0: (1, max_batch), 1: (1, MAX_TEXT_POSITIONS)}
        names = ["input_ids", "attention_mask"] if variant == "masked" else ["input_ids"]
        return AotSpec(name, variant, {n: shapes[n] for n in names}, {n: "int64" for n in names},
                       {n: axes for n in names}, inductor=inductor)
    if spec is HEAD:
        return AotSpec(name, variant, {"fmap": (example_batch, 1280, GRID, GRID)}, {"fmap": "float32"},
                       {"fmap": {0: (1, max_batch)}}, inductor=inductor)
    return AotSpec(name, variant, {"pixels": (example_batch, IMAGE_SIZE, IMAGE_SIZE, 3)}, {"pixels": "uint8"},
                   {"pixels": {0: (1, max_batch)}}, inductor=inductor)


def aot_arg_names(spec: ModelSpec, variant: str) -> list[str]:
    if spec is TEXT:
        return ["input_ids", "attention_mask"] if variant == "masked" else ["input_ids"]
    return list(spec.input_names)


def _static_spec(spec: ModelSpec, name: str, variant: str, shape: tuple[int, ...], inductor: dict[str, Any]) -> AotSpec:
    names = aot_arg_names(spec, variant)
    dtypes = {t.name: t.dtype for t in spec.inputs}
    return AotSpec(name, f"{variant}-b{'x'.join(map(str, shape))}", {n: shape for n in names},
                   {n: dtypes[n] for n in names}, {}, inductor=inductor)
