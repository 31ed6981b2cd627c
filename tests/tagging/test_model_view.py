"""The model view: the capture's 224x224 copy of the screenshot that analyses decode instead of it."""
from __future__ import annotations

import io

import numpy as np
from django.core.files.base import ContentFile
from PIL import Image

from inference.config import FEATURE_DIM
from inference.preprocess_image import prepare_image
from snapshots.capture.extract import screenshot_views
from tagging.analysis import run as analyze
from tagging.analysis.inputs import inputs_of
from tagging.analysis.vectors import unpack
from tagging.models import Analysis
from tests.tagging.helpers import captured_link, screenshot_png


def with_model_view(link):
    snapshot = link.snapshots.get()
    with snapshot.screenshot.open("rb") as handle:
        _thumbnail, view = screenshot_views(handle.read(), 400)
    snapshot.model_view.save("model_view.png", ContentFile(view), save=True)
    return snapshot


def test_the_analysis_reads_the_model_view_and_gets_the_screenshots_vectors(alice):
    shot = screenshot_png(stripe=(160, 30, 30))
    viewed = captured_link(alice, "https://example.org/viewed", "Viewed", "Some text.", screenshot=shot)
    plain = captured_link(alice, "https://example.org/plain", "Plain", "Some text.", screenshot=shot)
    snapshot = with_model_view(viewed)
    assert inputs_of(viewed, snapshot).image == snapshot.model_view.path
    assert analyze.run_batch() == 2
    features = {a.link_id: unpack(a.image_feature, FEATURE_DIM) for a in Analysis.objects.all()}
    assert np.array_equal(features[viewed.pk], features[plain.pk])


def test_a_model_view_gone_from_storage_falls_back_to_the_screenshot(alice):
    link = captured_link(alice, "https://example.org/a", "A", "text", screenshot=screenshot_png())
    snapshot = with_model_view(link)
    snapshot.model_view.storage.delete(snapshot.model_view.name)
    assert inputs_of(link, snapshot).image == snapshot.screenshot.path


def test_the_view_of_a_transparent_image_is_composited_on_white_like_the_models_input():
    image = Image.new("RGBA", (300, 500), (0, 0, 0, 0))
    image.paste((0, 120, 0, 255), (0, 0, 300, 100))
    out = io.BytesIO()
    image.save(out, "PNG")
    thumbnail, view = screenshot_views(out.getvalue(), 400)
    pixels = prepare_image(view)
    assert np.array_equal(pixels, prepare_image(out.getvalue()))
    assert pixels.shape == (224, 224, 3) and tuple(pixels[-1, -1]) == (255, 255, 255)  # white, not black
    assert thumbnail[8:12] == b"WEBP"
