"""Chinese, Japanese and emoji pages are captured with real glyphs, not boxes (fonts-noto-cjk, -color-emoji)."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from tests.support.pageserver import page

pytestmark = pytest.mark.chromium
CELL = 200  # px: each glyph sits alone in a cell this size at the page's top left
GLYPHS = ["永", "字", "あ", "😀"]
PAGE = "<!doctype html><html><head><meta charset='utf-8'><style>body{margin:0;background:#fff}" \
       f"span{{position:absolute;top:0;width:{CELL}px;height:{CELL}px;font-size:150px;line-height:{CELL}px;" \
       "text-align:center;color:#000}</style></head><body>" + "".join(
           f"<span style='left:{i * CELL}px'>{glyph}</span>" for i, glyph in enumerate(GLYPHS)) + "</body></html>"


def _cells(png: bytes) -> list[Image.Image]:
    shot = Image.open(io.BytesIO(png)).convert("RGB")
    return [shot.crop((i * CELL, 0, (i + 1) * CELL, CELL)) for i in range(len(GLYPHS))]


def _ink(cell: Image.Image) -> int:
    return sum(1 for pixel in cell.getdata() if sum(pixel) < 600)


def _differs(a: Image.Image, b: Image.Image) -> int:
    return sum(1 for pixel in ImageChops.difference(a, b).convert("L").getdata() if pixel > 64)


def test_cjk_and_emoji_render_as_distinct_glyphs(capturer, site):
    site.routes["/cjk"] = page(PAGE)
    result = capturer.capture(site.url("/cjk"))
    han, ji, kana, emoji = _cells(result.assets["screenshot"])
    # A missing font draws the same empty box for every character: real glyphs differ.
    assert _ink(han) > 500 and _ink(ji) > 500 and _ink(kana) > 300
    assert _differs(han, ji) > 500 and _differs(ji, kana) > 500
    # The emoji font is in colour; the fallback box is black on white.
    coloured = sum(1 for r, g, b in emoji.getdata() if max(r, g, b) - min(r, g, b) > 80)
    assert coloured > 1000


def test_the_browser_gets_the_capture_font_configuration_unless_the_operator_set_one(monkeypatch):
    from snapshots.capture.browser import FONTS_CONF, browser_env

    monkeypatch.delenv("FONTCONFIG_FILE", raising=False)
    assert browser_env()["FONTCONFIG_FILE"] == str(FONTS_CONF) and FONTS_CONF.is_file()
    monkeypatch.setenv("FONTCONFIG_FILE", "/etc/fonts/local-capture.conf")
    assert browser_env()["FONTCONFIG_FILE"] == "/etc/fonts/local-capture.conf"
