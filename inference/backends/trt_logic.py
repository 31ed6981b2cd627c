"""TensorRT logic that needs no TensorRT library: profiles, cache keys, error collection.

Kept apart so it is unit-tested on every machine, including those without TensorRT.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..config import MAX_SEQ_LEN, BatchProfile
from ..errors import InvalidTensor
from ..specs import ModelSpec

Shape = tuple[int, ...]
# TensorRT DataType member name -> torch dtype attribute name.
TRT_TO_TORCH = {"FLOAT": "float32", "HALF": "float16", "BF16": "bfloat16", "INT8": "int8", "UINT8": "uint8",
                "INT32": "int32", "INT64": "int64", "BOOL": "bool"}


@dataclass(frozen=True)
class ProfileShapes:
    min: Shape
    opt: Shape
    max: Shape


def profile_shapes(spec: ModelSpec, batch: BatchProfile, seq: tuple[int, int, int] = (1, 128, MAX_SEQ_LEN)
                   ) -> dict[str, ProfileShapes]:
    """Optimisation-profile shapes per input: dynamic batch (and sequence) axes get min/opt/max."""
    out = {}
    for t in spec.inputs:
        dims = []
        for axis, d in enumerate(t.shape):
            if d is not None:
                dims.append((d, d, d))
            elif axis == 0:
                dims.append((batch.min, batch.opt, batch.max))
            else:
                dims.append(seq)
        out[t.name] = ProfileShapes(*(tuple(d[i] for d in dims) for i in range(3)))
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "gpu"


def cc_tag(targets: tuple[tuple[int, int], ...]) -> str:
    return "-".join(f"sm{a}{b}" for a, b in targets)


def engine_cache_key(flavour: str, version: str, targets: tuple[tuple[int, int], ...], precision: str,
                     shapes: dict[str, ProfileShapes], onnx_digest: str, device: str = "") -> str:
    """Everything an engine depends on: flavour and version of TensorRT, the compute
    capabilities it was built for (and, for TensorRT 10, the GPU model), precision, profile
    and the ONNX file's hash."""
    h = hashlib.sha256()
    for part in (flavour, version, cc_tag(targets), precision,
                 repr(sorted((k, v.min, v.opt, v.max) for k, v in shapes.items())), onnx_digest, device):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


def engine_path(models_dir: Path, model: str, flavour_tag: str, targets: tuple[tuple[int, int], ...],
                precision: str, key: str, device: str = "") -> Path:
    where = (_slug(device) + "-" if device else "") + cc_tag(targets)
    return Path(models_dir) / "engines" / f"{model}-{flavour_tag}-{where}-{precision}-{key}.engine"


def plan_batches(spec_name: str, shapes: dict[str, ProfileShapes], input_shapes: dict[str, tuple[int, ...]]
                 ) -> list[slice]:
    """Row slices to run so that every call fits the engine's profile.

    A batch above the profile's maximum is split into calls of at most that size; any other
    axis outside the profile (a sequence longer than the engine was built for, a wrong image
    size) is refused with the ranges the engine accepts."""
    batch = None
    for name, shape in input_shapes.items():
        prof = shapes[name]
        if len(shape) != len(prof.min):
            raise InvalidTensor(f"{spec_name}.{name}: rank {len(shape)}, the engine takes rank {len(prof.min)}")
        for axis, (size, lo, hi) in enumerate(zip(shape, prof.min, prof.max)):
            if axis == 0:
                batch = size
                if size < lo:
                    raise InvalidTensor(f"{spec_name}.{name}: batch {size} below the engine profile's minimum {lo}")
            elif not lo <= size <= hi:
                raise InvalidTensor(f"{spec_name}.{name}: axis {axis} is {size}, outside the engine profile "
                                    f"{lo}..{hi} (shapes min {prof.min}, max {prof.max})")
    if batch is None:
        return []
    step = min(p.max[0] for p in shapes.values())
    return [slice(start, min(batch, start + step)) for start in range(0, batch, step)]


class ParserLike(Protocol):
    num_errors: int

    def get_error(self, index: int) -> Any: ...


def _call(obj: Any, attr: str) -> Any:
    value = getattr(obj, attr, None)
    try:
        return value() if callable(value) else value
    except Exception:  # an accessor of a partial error record; keep the rest of the report
        return None


def collect_parser_errors(parser: ParserLike) -> list[str]:
    """Every ONNX parser error as one readable line (code, node, operator, description)."""
    lines = []
    for i in range(int(parser.num_errors)):
        err = parser.get_error(i)
        code = _call(err, "code")
        node = _call(err, "node")
        name = _call(err, "node_name")
        op = _call(err, "node_operator")
        desc = _call(err, "desc") or str(err)
        where = []
        if node not in (None, -1):
            where.append(f"node {node}")
        if name:
            where.append(f"'{name}'")
        if op:
            where.append(f"({op})")
        code_text = getattr(code, "name", code)
        lines.append(f"[{i}] {code_text}: {' '.join(where) + ': ' if where else ''}{desc}")
    return lines


def format_parser_failure(onnx_path: Path, errors: list[str]) -> str:
    if not errors:
        return f"TensorRT could not parse {onnx_path} (the parser reported no details)"
    return f"TensorRT could not parse {onnx_path}: {len(errors)} error(s):\n  " + "\n  ".join(errors)


def workspace_bytes(total_memory: int, fraction: float = 0.25, cap: int = 8 << 30) -> int:
    """Builder workspace: a quarter of the card, at most 8 GiB (tactics need room, others too)."""
    return max(256 << 20, min(cap, int(total_memory * fraction)))
