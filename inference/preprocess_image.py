"""Screenshot decoding and preprocessing (CPU, PIL), shared by every backend.

Choice for screenshots (a 1280x800 page is not a photo):
  * keep the top of the page: at most a square (height <= width). A full-page capture of a
    long page is mostly body text; its first screen (header, navigation, hero) is what tells
    what kind of page it is, and cutting there bounds the work per image;
  * resize that whole region to 224x224, without cropping the sides and without letterbox
    bars. Centre-cropping a 16:10 viewport would cut away sidebars and navigation; letterboxing
    wastes a third of the pixels on padding. The anisotropic squeeze (at most 1.6x) is well
    within what an ImageNet CNN tolerates: a real docs-page screenshot comes out as
    "web site" with ~80% probability (tests/inference/test_real_models.py, fixture tests/inference/fixtures/docs_page.png);
  * resampling is PIL bilinear with a box pre-reduction (`reducing_gap`), i.e. antialiased,
    so thin text strokes average into grey instead of aliasing into noise;
  * alpha and palette images are composited on white (how a browser shows them); greyscale,
    CMYK and 16-bit images are converted to 8-bit RGB.
Normalisation to the network's range happens inside the exported graph, so every backend
receives the same uint8 224x224x3 array.
"""
from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import IMAGE_SIZE, Limits
from .errors import InvalidImage

log = logging.getLogger(__name__)

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, Image.Image, np.ndarray, io.IOBase]
WHITE = (255, 255, 255)
ORIENTATION = 0x0112  # EXIF tag


def crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The top region kept from a screenshot: full width, height at most the width."""
    return (0, 0, width, min(height, width))


def _open(source: ImageSource, limits: Limits) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise InvalidImage("empty image data (0 bytes)")
        if len(source) > limits.max_image_bytes:
            raise InvalidImage(f"image data too large: {len(source)} bytes > {limits.max_image_bytes}")
        source = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InvalidImage(f"cannot read image file {path}: {exc.strerror or exc}") from exc
        if size == 0:
            raise InvalidImage(f"empty image file {path}")
        if size > limits.max_image_bytes:
            raise InvalidImage(f"image file too large: {path} is {size} bytes > {limits.max_image_bytes}")
    elif not hasattr(source, "read"):
        raise InvalidImage(f"unsupported image input type {type(source).__name__}")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit is checked below; PIL's bomb warning would only add noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(source)
    except Image.DecompressionBombError as exc:
        raise InvalidImage(f"image too large: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImage(f"not a readable image: {exc}") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImage(f"corrupt image: {exc}") from exc


def _check_size(img: Image.Image, limits: Limits) -> None:
    w, h = img.size
    if w < 1 or h < 1:
        raise InvalidImage(f"image has no pixels ({w}x{h})")
    if w > limits.max_side or h > limits.max_side or w * h > limits.max_pixels:
        raise InvalidImage(f"image too large: {w}x{h} exceeds {limits.max_pixels} pixels / side {limits.max_side}")


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = max(float(arr.max()), 1.0)
        scaled = (arr * (255.0 / (65535.0 if top > 255 else 255.0))).clip(0, 255).astype(np.uint8)
        return Image.fromarray(scaled, "L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info or img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _from_array(arr: np.ndarray) -> Image.Image:
    if arr.dtype != np.uint8:
        raise InvalidImage(f"image arrays must be uint8, got {arr.dtype}")
    if arr.ndim == 2:
        return Image.fromarray(arr, "L")
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return Image.fromarray(np.ascontiguousarray(arr), "RGB" if arr.shape[2] == 3 else "RGBA")
    raise InvalidImage(f"image arrays must be HxW, HxWx3 or HxWx4, got shape {arr.shape}")


def prepare_image(source: ImageSource, limits: Limits = Limits(), size: int = IMAGE_SIZE, draft: int = 2) -> np.ndarray:
    """Decode, validate and resize one image to a uint8 size x size x 3 array.

    `draft`: JPEGs are decoded at the smallest DCT scale that keeps at least draft x size
    pixels per side. 2 (the reference) keeps full resolution for a 1280x800 screenshot;
    1 decodes it at 640x400, three times less work, within half a grey level on average."""
    img = _from_array(source) if isinstance(source, np.ndarray) else _open(source, limits)
    _check_size(img, limits)
    try:
        if img.format == "JPEG":
            # Decode JPEGs at a reduced scale straight away (DCT scaling): far less work,
            # and the result is downsampled to 224 px anyway.
            img.draft("RGB", (size * draft, size * draft))
        if img.getexif().get(ORIENTATION, 1) != 1:  # most screenshots carry none: skip a copy
            img = ImageOps.exif_transpose(img)
        box = crop_box(*img.size)
        img = _to_rgb(img if box == (0, 0, *img.size) else img.crop(box))
        img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return np.asarray(img, dtype=np.uint8)
    except InvalidImage:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, Image.DecompressionBombError) as exc:
        raise InvalidImage(f"corrupt or truncated image: {exc}") from exc


def prepare_batch(sources: list[ImageSource], limits: Limits = Limits()) -> np.ndarray:
    """Stack prepared images; the first bad one raises InvalidImage naming its position."""
    out = np.empty((len(sources), IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    for i, src in enumerate(sources):
        try:
            out[i] = prepare_image(src, limits)
        except InvalidImage as exc:
            raise InvalidImage(f"image #{i}: {exc}") from exc
    return out
