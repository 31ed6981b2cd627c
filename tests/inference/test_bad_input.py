"""Bad inputs raise clear exception types; nothing crashes, nothing silently wrong."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from inference.config import Limits
from inference.errors import InferenceError, InvalidImage, InvalidText
from inference.preprocess_image import prepare_image
from tests.inference.conftest import encode


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (no real pixel data)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("data,match", [
    (b"", "empty"),
    (b"this is not an image at all", "not a readable image"),
    (_png_header_only(20000, 20000), "too large"),
    (_png_header_only(1280, 400000), "too large"),
], ids=["empty", "garbage", "20000x20000", "very-long"])
def test_bad_image_bytes(data, match):
    with pytest.raises(InvalidImage, match=match):
        prepare_image(data)


def test_truncated_and_corrupt_files(tmp_path, page_png):
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(page_png[: len(page_png) // 2])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for path, match in ((truncated, "corrupt|truncated"), (empty, "empty"), (tmp_path / "missing.png", "cannot read")):
        with pytest.raises(InvalidImage, match=match):
            prepare_image(path)
    with pytest.raises(InvalidImage, match="corrupt|truncated|not a readable"):
        prepare_image(page_png[:100])


@pytest.mark.parametrize("value,match", [
    (np.zeros((10, 10, 3), np.float32), "uint8"),
    (np.zeros((10, 10, 2), np.uint8), "shape"),
    (np.zeros((0, 10, 3), np.uint8), "no pixels"),
    (12345, "unsupported"),
], ids=["float", "2-channel", "no-rows", "int"])
def test_bad_arrays_and_types(value, match):
    with pytest.raises(InvalidImage, match=match):
        prepare_image(value)


def test_modes_are_converted_like_a_browser_shows_them(rng):
    rgb = rng.integers(0, 256, (300, 480, 3), dtype=np.uint8)
    base = prepare_image(Image.fromarray(rgb))
    transparent = Image.fromarray(np.dstack([rgb, np.zeros((300, 480), np.uint8)]), "RGBA")
    assert (prepare_image(encode(transparent)) == 255).all()  # fully transparent -> white page
    opaque = Image.fromarray(np.dstack([rgb, np.full((300, 480), 255, np.uint8)]), "RGBA")
    assert np.array_equal(prepare_image(encode(opaque)), base)
    grey = prepare_image(encode(Image.fromarray(rgb).convert("L")))
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE)
    palette.info["transparency"] = 0
    for img in (palette, Image.fromarray(rgb).convert("LA"), Image.fromarray(rgb).convert("CMYK"),
                Image.fromarray(rgb[..., 0].astype(np.uint16) * 257), Image.fromarray(rgb).convert("1")):
        out = prepare_image(encode(img, "TIFF" if img.mode in ("CMYK", "I;16") else "PNG"))
        assert out.shape == (224, 224, 3) and out.dtype == np.uint8 and out.std() > 0


def test_long_full_page_screenshot_keeps_the_top(rng):
    top = rng.integers(0, 256, (1280, 1280, 3), dtype=np.uint8)
    page = np.concatenate([top, np.zeros((6000, 1280, 3), np.uint8)])
    assert np.array_equal(prepare_image(page), prepare_image(top))


def test_one_bad_image_names_its_position(predictor, page_png):
    with pytest.raises(InvalidImage, match="image #1"):
        predictor.embed_images([page_png, b"garbage"])
    with pytest.raises(InvalidImage):
        predictor.embed_images(page_png)  # a single image, not a sequence


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("   \n\t ", "empty"),
    (b"\xff\xfe\x00\x00binary", "UTF-8"),
    ("PK\x03\x04\x00\x00\x08\x00" * 50, "binary"),
    (None, "expected str"),
    (42, "expected str"),
], ids=["empty", "blank", "not-utf8", "zip-bytes", "none", "int"])
def test_bad_texts(predictor, text, match):
    with pytest.raises(InvalidText, match=match):
        predictor.embed_texts(["fine", text])


def test_50mb_text_is_refused_quickly(predictor):
    import time

    start = time.perf_counter()
    with pytest.raises(InvalidText, match="exceeds the limit"):
        predictor.embed_texts(["word " * (10 * 1024 * 1024)])
    assert time.perf_counter() - start < 2


def test_limits_are_configurable():
    with pytest.raises(InvalidImage, match="too large"):
        prepare_image(np.zeros((100, 100, 3), np.uint8), Limits(max_pixels=5000))


def test_all_errors_share_a_base():
    assert issubclass(InvalidImage, InferenceError) and issubclass(InvalidText, ValueError)
