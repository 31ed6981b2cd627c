"""A page that does not declare its language gets it from its text; a declared one is kept."""
import pytest

from snapshots.capture.language import detect_language
from tests.support.pageserver import page

GERMAN = ("Die Stadt liegt am Ufer des Flusses und hat viele alte Häuser, enge Gassen und einen großen "
          "Marktplatz, auf dem jeden Samstag Händler aus der ganzen Gegend ihre Waren anbieten. ") * 4


@pytest.mark.no_postgres
@pytest.mark.parametrize("text, expected", [
    (GERMAN, "de"),
    ("東京は日本の首都であり、多くの人が住んでいます。古い寺と新しい建物が並んでいます。" * 2, "ja"),
    ("Le chat est sur la table et il dort depuis ce matin, sans bouger une seule patte.", "fr"),
    ("OK", ""),
    ("1234 5678 9012 3456 7890 1234 5678 9012 3456 7890", ""),
])
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def _article(lang_attr: str) -> str:
    return (f"<!doctype html><html{lang_attr}><head><meta charset='utf-8'><title>Stadt</title></head>"
            f"<body><main><article><h1>Die Stadt</h1><p>{GERMAN}</p><p>{GERMAN}</p></article></main></body></html>")


@pytest.mark.chromium
def test_capture_detects_an_undeclared_language_and_keeps_a_declared_one(capturer, site):
    site.routes["/undeclared"] = page(_article(""))
    site.routes["/declared"] = page(_article(" lang='de-AT'"))
    assert capturer.capture(site.url("/undeclared")).language == "de"
    assert capturer.capture(site.url("/declared")).language == "de-AT"
