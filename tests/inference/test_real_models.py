"""Real weights give sensible outputs (CPU, onnxruntime)."""
import io

import numpy as np
from PIL import Image

from tests.inference.conftest import encode


def test_screenshot_of_a_web_page_is_a_web_site(predictor, page_png):
    features, descriptors, logits = predictor.embed_images([page_png])
    top = [name for name, _ in predictor.concepts(logits, k=3)[0]]
    assert "web site" in top
    assert np.allclose(np.linalg.norm(features, axis=1), 1, atol=1e-4)
    assert np.allclose(np.linalg.norm(descriptors, axis=1), 1, atol=1e-4)


def test_descriptor_matches_near_duplicates(predictor, page_png):
    page = Image.open(io.BytesIO(page_png)).convert("RGB")
    recompressed = encode(page, "JPEG", quality=60)
    shifted = page.crop((0, 40, 1280, 800))  # same page scrolled a little
    other = Image.fromarray(np.tile(np.linspace(0, 255, 1280, dtype=np.uint8), (800, 1)), "L")
    _, d, _ = predictor.embed_images([page_png, recompressed, shifted, other])
    sims = d @ d[0]
    assert sims[1] > 0.97 and sims[2] > 0.8
    assert sims[3] < min(sims[1], sims[2]) - 0.1


def test_close_sentences_are_closer_than_unrelated(predictor):
    e = predictor.embed_texts([
        "How do I configure the database connection in Django settings?",
        "Setting up DATABASES in a Django project's settings file.",
        "The recipe needs two cups of flour and a pinch of salt.",
    ])
    assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-4)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.3


def test_long_text_is_chunked_and_pooled(predictor):
    topic = "Django models map Python classes to database tables and queries. " * 150  # > 1 chunk
    short = "Django models map Python classes to database tables and queries."
    recipe = "Bake the bread at two hundred degrees for forty minutes. " * 150
    e = predictor.embed_texts([topic, short, recipe, topic + recipe])
    assert e[0] @ e[1] > max(0.6, e[0] @ e[2] + 0.4)
    mixed = e[3]
    assert mixed @ e[0] > 0.5 and mixed @ e[2] > 0.5  # both halves of a long text count


def test_batching_does_not_change_results(predictor, page_png):
    small = Image.open(io.BytesIO(page_png)).resize((640, 400))
    one = predictor.embed_images([small])[0]
    many = predictor.embed_images([small] * 3 + [page_png])[0]
    assert np.allclose(many[:3], one, atol=1e-5)
    t = predictor.embed_texts(["alpha beta", "a much longer sentence about gamma rays " * 20])
    assert np.allclose(predictor.embed_texts(["alpha beta"])[0], t[0], atol=1e-5)
