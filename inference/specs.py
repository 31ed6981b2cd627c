"""Names, dtypes and shapes of every model's inputs and outputs (the backend contract)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import FEATURE_DIM, IMAGE_SIZE, NUM_CLASSES, TEXT_DIM

GRID = IMAGE_SIZE // 32  # EfficientNet downsamples 32x: 224 px -> 7x7 feature map


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # numpy dtype name
    shape: tuple[int | None, ...]  # None = dynamic (batch, sequence)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs]


_F = "float32"
IMAGE = ModelSpec(
    "image",
    inputs=(TensorSpec("pixels", "uint8", (None, IMAGE_SIZE, IMAGE_SIZE, 3)),),
    outputs=(TensorSpec("features", _F, (None, FEATURE_DIM)), TensorSpec("descriptors", _F, (None, FEATURE_DIM)),
             TensorSpec("logits", _F, (None, NUM_CLASSES))),
)
TEXT = ModelSpec(
    "text",
    inputs=(TensorSpec("input_ids", "int64", (None, None)), TensorSpec("attention_mask", "int64", (None, None))),
    outputs=(TensorSpec("embeddings", _F, (None, TEXT_DIM)),),
)
# The pooling head alone, fed with the backbone's feature map (checks the TensorRT-API head).
HEAD = ModelSpec(
    "head",
    inputs=(TensorSpec("fmap", _F, (None, FEATURE_DIM, GRID, GRID)),),
    outputs=IMAGE.outputs,
)
SPECS = {s.name: s for s in (IMAGE, TEXT, HEAD)}


def random_inputs(spec: ModelSpec, batch: int, rng: np.random.Generator, seq: int = 48) -> dict[str, np.ndarray]:
    """Fresh random inputs of the right types, for parity checks and benchmarks."""
    if spec.name == "image":
        return {"pixels": rng.integers(0, 256, (batch, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)}
    if spec.name == "head":
        return {"fmap": rng.uniform(0.0, 6.0, (batch, FEATURE_DIM, GRID, GRID)).astype(np.float32)}
    ids = rng.integers(1000, 29000, (batch, seq), dtype=np.int64)
    lengths = rng.integers(2, seq + 1, batch)
    lengths[0] = seq  # at least one full row, so padding never covers everything
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)
    ids[:, 0] = 101  # [CLS]
    return {"input_ids": ids * mask, "attention_mask": mask}
