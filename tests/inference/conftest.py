"""Fixtures of the inference tests: one exported model directory per session (exports are
the slow part), CPU predictor on onnxruntime, and GPU/TensorRT skips with reasons."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    # The root pytest.ini registers it; this keeps the folder runnable on its own (-p no:django).
    config.addinivalue_line("markers", "gpu: needs an NVIDIA GPU (skipped where CUDA is absent)")


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if cuda_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Exported ONNX files shared by all tests of the session."""
    from inference.export import ensure_all

    # LINKSHOT_TEST_MODELS_DIR reuses a folder (on a GPU host: the compiled packages a bench left).
    explicit = os.environ.get("LINKSHOT_TEST_MODELS_DIR", "").strip()
    path = Path(explicit) if explicit else tmp_path_factory.mktemp("models")
    ensure_all(path)
    return path


@pytest.fixture(scope="session")
def predictor(models_dir: Path):
    from inference import Predictor

    p = Predictor(backend="onnxruntime", models_dir=models_dir)
    yield p
    p.close()


@pytest.fixture(scope="session")
def page_png() -> bytes:
    """A real 1280x800 Chromium screenshot of a documentation page."""
    return (FIXTURES / "docs_page.png").read_bytes()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng()  # fresh inputs every run: a fast path must work on any input


def encode(img, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def fresh_process(code: str, *args: str, env: dict[str, str] | None = None,
                  timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -c code args` in a new interpreter at the checkout's root: nothing of this process's
    CUDA context, compiled code or Inductor state carries over."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout)


def reported(done: subprocess.CompletedProcess, tag: str) -> str:
    """What a fresh process printed after `tag` on its own line (its stderr shown if it printed none)."""
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(tag + " ")), None)
    assert line is not None, done.stderr[-3000:]
    return line[len(tag) + 1:]
