"""Pages for the worker memory benchmark: real text (the standard library's own documentation, as
pydoc renders it) and photo-like JPEG images, written to a folder that is served on loopback.

Every Python install has the same text, and the images come from a fixed seed, so two runs (and two
machines) capture the same pages. Each page belongs to one family of modules; the family is its tag.
"""
from __future__ import annotations

import html
import io
import json
import pydoc
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

FAMILIES = {
    "text": ["string", "re", "textwrap", "difflib", "unicodedata", "html.parser", "gettext", "locale", "codecs",
             "stringprep"],
    "network": ["socket", "ssl", "http.client", "urllib.request", "smtplib", "ftplib", "imaplib", "poplib",
                "http.server", "socketserver"],
    "files": ["os.path", "pathlib", "shutil", "glob", "fnmatch", "tempfile", "filecmp", "stat", "fileinput",
              "linecache"],
    "data": ["json", "csv", "pickle", "sqlite3", "zipfile", "tarfile", "gzip", "bz2", "lzma", "configparser"],
    "concurrency": ["threading", "multiprocessing", "asyncio", "queue", "sched", "subprocess",
                    "concurrent.futures", "selectors", "signal", "contextvars"],
}
TEXT_CHARS = 8000


def module_text(name: str) -> str:
    text = pydoc.render_doc(name, renderer=pydoc.plaintext)
    # Default reprs name memory addresses ("<object object at 0x7f...>"): the same in every run without.
    return re.sub(r" at 0x[0-9a-f]+", "", text)[:TEXT_CHARS]


def photo(seed: int, size: tuple[int, int] = (800, 500)) -> bytes:
    """A JPEG that compresses like a photograph: smooth light, shapes, blur and grain."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    base = np.stack([np.sin(x * rng.uniform(1, 6) + rng.uniform(0, 6)) * 60 + rng.uniform(60, 190)
                     + y * rng.uniform(-80, 80) for _ in range(3)], axis=-1)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        r = int(rng.integers(20, 160))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0 - r, y0 - r // 2, x0 + r, y0 + r // 2], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(3))
    grain = rng.normal(0, 9, (h, w, 3))
    image = Image.fromarray(np.clip(np.asarray(image, np.float64) + grain, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def page_html(name: str, family: str, number: int, text: str) -> str:
    title, _, rest = text.partition("\n")
    paragraphs = "".join(f"<p>{html.escape(block)}</p>" for block in rest.split("\n\n") if block.strip())
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(name)} — '
            f'{family} module reference</title><meta name="description" content="{html.escape(title[:150])}">'
            "<style>body{font-family:sans-serif;max-width:52em;margin:2em auto;line-height:1.4}"
            "img{max-width:100%}pre{white-space:pre-wrap}</style></head><body>"
            f"<nav>Library reference / {family}</nav><h1>{html.escape(name)}</h1>"
            f'<img src="/img/{number}-a.jpg" width="800" height="500" alt="figure">'
            f"{paragraphs[: len(paragraphs) // 2]}"
            f'<img src="/img/{number}-b.jpg" width="800" height="500" alt="figure">'
            f"{paragraphs[len(paragraphs) // 2:]}</body></html>")


def build(folder: Path, pages: int) -> list[dict]:
    """Write up to ``pages`` pages (taken round-robin over the families) and return [{path, tags}]."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "img").mkdir(exist_ok=True)
    order = [(family, names[k]) for k in range(max(map(len, FAMILIES.values())))
             for family, names in FAMILIES.items() if k < len(names)][:pages]
    listing = []
    for number, (family, name) in enumerate(order):
        path = f"/lib/{name}.html"
        (folder / "lib").mkdir(exist_ok=True)
        (folder / path.lstrip("/")).write_text(page_html(name, family, number, module_text(name)), encoding="utf-8")
        for k, part in enumerate("ab"):
            (folder / "img" / f"{number}-{part}.jpg").write_bytes(photo(number * 2 + k))
        listing.append({"path": path, "tags": [family]})
    (folder / "labels.json").write_text(json.dumps(listing, indent=1))
    return listing
