"""The CPU inference worker's path (model version, both models, the bulk screenshot path) runs on
onnxruntime without importing torch: torch alone is about 200 MB of memory in every process that
imports it, and onnxruntime does not need it once the ONNX files exist."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.tagging.helpers import screenshot_png

ROOT = Path(__file__).resolve().parents[2]

WORKER_PATH = """
import json, sys
import django
django.setup()
from tagging.analysis.predictor import model_version, predictor
from tagging.analysis import run
from inference.bulk import embed_stored_screenshots
from inference.bulk_pages import embed_texts_checked
version = model_version()
model = predictor()
images = embed_stored_screenshots([sys.argv[1]], predictor=model)
texts = embed_texts_checked(["Throwing a bowl on the pottery wheel starts with centring the clay."], model)
print(json.dumps({"torch": "torch" in sys.modules, "backends": model.backend_names(), "version": version,
                  "images": len(images.indices), "texts": len(texts.indices)}))
"""


def test_the_cpu_inference_path_does_not_import_torch(tmp_path):
    from inference.export import ensure_all

    ensure_all(Path(settings.LINKSHOT_MODELS_DIR))  # exporting needs torch; here, not in the worker
    shot = tmp_path / "shot.png"
    shot.write_bytes(screenshot_png())
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "LINKSHOT_INFERENCE_BACKEND": "onnxruntime",
           "LINKSHOT_MODELS_DIR": str(settings.LINKSHOT_MODELS_DIR)}
    out = subprocess.run([sys.executable, "-c", WORKER_PATH, str(shot)], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["backends"] == {"image": "onnxruntime", "text": "onnxruntime"}
    assert got["images"] == 1 and got["texts"] == 1 and got["version"].startswith("image-")
    assert got["torch"] is False


HOLES = """
import json, sys
from tagging.analysis.heap import release_memory
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) / 1024
blocks = [b"x" * 100_000 for _ in range(3000)]  # 300 MB of written heap blocks, below the mmap threshold
del blocks[::2]  # half of them freed, each between two live ones: glibc keeps those pages
before = rss()
trimmed = release_memory()
print(json.dumps({"trimmed": trimmed, "before": before, "after": rss()}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_release_memory_gives_freed_heap_pages_back():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    code = "import django; django.setup()\n" + HOLES
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["trimmed"] is True
    assert got["before"] - got["after"] > 75, got  # of the 150 MB freed
