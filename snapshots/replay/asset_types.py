"""Which kind of file a captured asset is: decided from its bytes, never from what the page claimed."""
from __future__ import annotations

import mimetypes

# Assets stored as files on the Snapshot (FileField names); the model view is input for the tag
# models only. The served ones, with the one served from the text column.
FILE_ASSETS: tuple[str, ...] = ("screenshot", "thumbnail", "model_view", "full_page", "html", "mhtml", "pdf", "favicon")
ASSET_NAMES: tuple[str, ...] = (*(a for a in FILE_ASSETS if a != "model_view"), "text")
IMAGE_ASSETS = frozenset({"screenshot", "thumbnail", "full_page", "favicon"})
DOWNLOAD_ASSETS = frozenset({"mhtml", "pdf"})

# Extension of each asset whose format is fixed by the capture engine.
FIXED_EXTENSIONS = {"html": ".html", "mhtml": ".mhtml", "pdf": ".pdf"}

CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".bmp": "image/bmp",
    ".ico": "image/x-icon",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
    ".mhtml": "multipart/related",
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
}


def sniff_image_extension(data: bytes) -> str | None:
    """The extension of a known image format from its magic bytes, or None."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return ".gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    if head[4:12] in (b"ftypavif", b"ftypavis"):
        return ".avif"
    if head.startswith(b"BM"):
        return ".bmp"
    if head.startswith(b"\x00\x00\x01\x00"):
        return ".ico"
    if b"<svg" in data[:2048].lower():
        return ".svg"
    return None


def asset_extension(asset: str, data: bytes) -> str:
    """File extension to store ``asset`` under; unknown image bytes are kept as opaque data."""
    if asset in FIXED_EXTENSIONS:
        return FIXED_EXTENSIONS[asset]
    return sniff_image_extension(data) or ".bin"


def content_type_for(filename: str) -> str:
    """Content type to serve a stored file with, from the extension it was stored under."""
    ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return CONTENT_TYPES.get(ext) or mimetypes.guess_type(filename)[0] or "application/octet-stream"
