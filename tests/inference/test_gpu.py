"""torch-cuda backend and GPU bulk decoding (marked gpu: CI skips, run on a GPU machine)."""
import io

import numpy as np
import pytest
from PIL import Image

from inference.specs import IMAGE, TEXT, random_inputs
from tests.inference.conftest import encode, fresh_process, reported

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda_predictor(models_dir):
    from inference import Predictor

    # Uncompiled: the parity tests use many batch buckets, each a compile of about a minute;
    # the compiled image is checked against eager fp32 by bench/inference.py and built below.
    p = Predictor(backend="torch-cuda", models_dir=models_dir, compile="off")
    yield p
    p.close()


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("batch", [1, 3, 32])
def test_torch_cuda_image_matches_onnxruntime(cuda_predictor, predictor, rng, batch):
    inputs = random_inputs(IMAGE, batch, rng)
    got = cuda_predictor.backend(IMAGE).infer(inputs)
    want = predictor.backend(IMAGE).infer(inputs)
    for name in IMAGE.output_names:  # fp16 network: ~1e-3 relative error expected
        assert got[name].shape == want[name].shape
        assert _rel(got[name], want[name]) < 2e-2, name


def test_torch_cuda_graph_buckets_give_per_item_results(cuda_predictor, rng):
    backend = cuda_predictor.backend(IMAGE)
    inputs = random_inputs(IMAGE, 5, rng)  # padded to the batch-8 graph
    together = backend.infer(inputs)["features"]
    alone = np.concatenate([backend.infer({"pixels": inputs["pixels"][i:i + 1]})["features"] for i in range(5)])
    assert np.allclose(together, alone, atol=5e-3)


def test_first_uses_of_both_models_in_two_threads(models_dir, cuda_predictor, rng):
    """As an analysis batch runs them: its texts in a second thread beside its images. New shapes in
    both at once (each first use times cuDNN and captures a graph) all complete, with the results of
    shapes used one at a time."""
    import threading

    from inference import Predictor

    fresh = Predictor(backend="torch-cuda", models_dir=models_dir, compile="off")
    images = [random_inputs(IMAGE, b, rng) for b in (2, 16, 64, 128, 256)]
    texts = [random_inputs(TEXT, b, rng, seq=seq) for b, seq in ((2, 32), (16, 64), (64, 128), (128, 256), (256, 96))]
    got, errors, start = {}, [], threading.Barrier(2)

    def run(spec, batches):
        try:
            start.wait()
            got[spec.name] = [fresh.backend(spec).infer(inputs) for inputs in batches]
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(IMAGE, images)), threading.Thread(target=run, args=(TEXT, texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fresh.close()
    assert not errors, errors
    for spec, batches in ((IMAGE, images), (TEXT, texts)):
        for inputs, out in zip(batches, got[spec.name]):
            want = cuda_predictor.backend(spec).infer(inputs)
            for name in spec.output_names:
                assert _rel(out[name], want[name]) < 1e-2, (spec.name, name)


def test_torch_cuda_text_matches_onnxruntime(cuda_predictor, predictor, rng):
    for batch, seq in ((1, 17), (6, 100), (40, 256)):
        inputs = random_inputs(TEXT, batch, rng, seq=seq)
        got = cuda_predictor.backend(TEXT).infer(inputs)["embeddings"]
        want = predictor.backend(TEXT).infer(inputs)["embeddings"]
        assert _rel(got, want) < 2e-2
        assert (np.sum(got * want, axis=1) > 0.999).all()


def test_torch_cuda_full_length_text_runs_without_mask_and_matches(cuda_predictor, predictor, rng):
    backend = cuda_predictor.backend(TEXT)
    for batch, seq in ((8, 256), (5, 64)):  # full rows: no mask, flash attention; 5 -> padded to 8
        inputs = random_inputs(TEXT, batch, rng, seq=seq)
        inputs["attention_mask"][:] = 1
        inputs["input_ids"][inputs["input_ids"] == 0] = 2000
        got = backend.infer(inputs)["embeddings"]
        want = predictor.backend(TEXT).infer(inputs)["embeddings"]
        assert _rel(got, want) < 2e-2
        assert (np.sum(got * want, axis=1) > 0.999).all()
        assert any(key[-1] for key in backend._graphs)  # the mask-free graph was used


def test_image_model_sets_cudnn_up_at_load(cuda_predictor):
    """cuDNN's libraries and handle are set up with the image model, not at a bucket's first call."""
    backend = cuda_predictor.backend(IMAGE)
    assert backend.cudnn_benchmark and backend.cudnn_setup_seconds > 0


def test_torch_cuda_real_screenshot(cuda_predictor, page_png):
    _, _, logits = cuda_predictor.embed_images([page_png])
    assert "web site" in [n for n, _ in cuda_predictor.concepts(logits, 3)[0]]


def test_bulk_gpu_decoding_matches_cpu_path(cuda_predictor, predictor, page_png, tmp_path):
    pytest.importorskip("torchvision", reason="GPU JPEG decoding needs torchvision")
    from inference.bulk import embed_stored_screenshots

    page = Image.open(io.BytesIO(page_png)).convert("RGB")
    paths = []
    for i in range(6):
        paths.append(tmp_path / f"{i}.jpg")
        paths[-1].write_bytes(encode(page.rotate(i * 2, fillcolor="white"), "JPEG", quality=90))
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff" + b"\0" * 100)
    paths.append(tmp_path / "bad.jpg")
    gpu = embed_stored_screenshots(paths, predictor=cuda_predictor, batch_size=4)
    cpu = embed_stored_screenshots(paths, predictor=predictor, batch_size=4)
    assert gpu.indices == cpu.indices == list(range(6))
    assert set(gpu.failures) == set(cpu.failures) == {6}
    # Different JPEG decoders and resamplers: same picture, not the same bits.
    assert (np.sum(gpu.features * cpu.features, axis=1) > 0.97).all()


BUILD_BUCKETS = """
import json, sys
from inference import Predictor
from inference.config import BatchProfile, Settings
from inference.engines import _compile_buckets
from inference.specs import IMAGE
from pathlib import Path
models = Path(sys.argv[1])
settings = Settings(models_dir=models, image_profile=BatchProfile(1, 2, 2))
p = Predictor(backend="torch-cuda", models_dir=models, settings=settings, compile="jit", compile_mode="default")
print("BUCKETS " + json.dumps([[a.name, a.kind, str(a.path), a.size, a.note] for a in _compile_buckets(p.backend(IMAGE))]))
"""


def test_build_compiles_every_batch_bucket_into_the_disk_cache(tmp_path):
    """`python -m inference build` with compile=jit: each bucket compiled once; a new process
    finds every bucket in the cache. (Within one process Dynamo reuses its compiled code for a new
    module of the same shapes and never asks the disk cache, so each run is its own process.)"""
    import json
    from pathlib import Path

    first, again = (json.loads(reported(fresh_process(BUILD_BUCKETS, str(tmp_path)), "BUCKETS")) for _ in range(2))
    assert [name for name, *_ in first] == ["image batch 1", "image batch 2"]
    assert all(kind == "compiled" and Path(path).parent.name == "compiled" and size > 0
               for _, kind, path, size, _ in first)
    assert all(note.startswith("compiled in") for *_, note in first), first
    assert all("from the cache" in note for *_, note in again), again


def test_waiting_threads_can_block_on_this_driver():
    """The flags reach the driver of a real GPU (reanalyze --jobs N sets them in every process).
    A fresh process: they are set before the device's context exists, as a worker does."""
    done = fresh_process("from inference.backends.cuda_wait import set_wait; import torch; "
                         "why = set_wait('block'); torch.zeros(1, device='cuda'); print('WHY', why)", timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert reported(done, "WHY") == "None"

