"""Pure helpers that turn captured bytes into what we keep: text, thumbnails, image conversions."""
from __future__ import annotations

import io
import logging

import trafilatura
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from inference.errors import InvalidImage
from inference.preprocess_image import prepare_image

log = logging.getLogger(__name__)

PDF_MAX_PAGES = 300  # text of longer PDFs is cut here; extraction time grows with pages
Image.MAX_IMAGE_PIXELS = 100_000_000  # a hostile image cannot make us decode a gigapixel bomb


def readable_text(html: str, url: str, max_chars: int) -> str:
    """Main text of an HTML page (trafilatura), or "" when it finds none."""
    try:
        text = trafilatura.extract(html, url=url or None, include_comments=False, include_tables=True,
                                    fast=True)
    except Exception:  # noqa: BLE001 - the extractor must never fail a capture
        log.exception("text extraction failed for %s", url)
        return ""
    return (text or "")[:max_chars]


def pdf_text(data: bytes, max_chars: int) -> tuple[str, str]:
    """(text, title) of a PDF document; empty strings when it cannot be read."""
    try:
        reader = PdfReader(io.BytesIO(data))
        parts = []
        for page in reader.pages[:PDF_MAX_PAGES]:
            parts.append(page.extract_text() or "")
            if sum(map(len, parts)) > max_chars:
                break
        title = str((reader.metadata or {}).get("/Title") or "")
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        log.warning("could not read PDF text", exc_info=True)
        return "", ""
    return "\n".join(part.strip() for part in parts if part.strip())[:max_chars], title


def screenshot_views(image_bytes: bytes, thumbnail_width: int) -> tuple[bytes, bytes | None]:
    """(thumbnail for link lists, the image model's view) of a screenshot, decoded once.

    The model view is the screenshot as the image model reads it (inference/preprocess_image.py:
    the top region resized to 224x224), kept as a lossless PNG. An analysis reads those same
    pixels from it instead of decoding the whole viewport again: 1/20 of the pixels, which is
    what lets a re-analysis of stored snapshots keep a GPU fed. None when the model would refuse
    the image (too large); the analysis then reads the screenshot itself and reports why.
    """
    with Image.open(io.BytesIO(image_bytes)) as image:
        image.load()
        thumbnail = _thumbnail(image, thumbnail_width)
        try:
            return thumbnail, _png(prepare_image(image))
        except InvalidImage as exc:
            log.info("no model view of this screenshot: %s", exc)
            return thumbnail, None


def model_view(image_bytes: bytes) -> bytes:
    """The model view of a screenshot stored before the capture made them (manage.py
    model_views); InvalidImage when it cannot be read or the model would refuse it."""
    return _png(prepare_image(image_bytes))


def _png(pixels) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG", compress_level=6)
    return out.getvalue()


def _thumbnail(image: Image.Image, width: int) -> bytes:
    """A small WebP of the top of a screenshot for link lists (aspect ratio kept)."""
    image = image.convert("RGB")
    height = max(1, round(image.height * width / image.width))
    small = image.resize((width, height), Image.Resampling.LANCZOS) if image.width > width else image
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80, method=2)
    return out.getvalue()


def image_as_png(image_bytes: bytes) -> bytes | None:
    """The image re-encoded as PNG (first frame), or None for formats Pillow cannot read (SVG)."""
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            if image.format == "PNG":
                return image_bytes
            out = io.BytesIO()
            image.convert("RGBA" if "A" in image.getbands() else "RGB").save(out, "PNG")
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def media_type(content_type: str) -> str:
    """'text/html; charset=utf-8' -> 'text/html'."""
    return content_type.split(";", 1)[0].strip().lower()
