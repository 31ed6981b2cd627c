"""The GPU-oriented forms of the models compute the reference function (checked on the CPU
in float64, where only summation order differs)."""
import numpy as np
import pytest
import torch

from inference.specs import TEXT, random_inputs


@pytest.fixture(scope="module")
def text_pair():
    from inference.models.minilm import load_text_encoder
    from inference.models.minilm_fast import FusedTextEncoder
    from inference.weights import text_model_dir

    ref = load_text_encoder(text_model_dir(), attn="eager").double()
    return ref, FusedTextEncoder.from_encoder(ref)


def test_fused_text_encoder_matches_transformers(text_pair, rng):
    ref, fused = text_pair
    x = {k: torch.from_numpy(v) for k, v in random_inputs(TEXT, 3, rng, seq=24).items()}
    with torch.no_grad():
        want = ref(x["input_ids"], x["attention_mask"]).double()
        got = fused(x["input_ids"], x["attention_mask"]).double()
    assert torch.linalg.norm(got - want) / torch.linalg.norm(want) < 1e-10


def test_fused_text_encoder_without_mask_equals_full_mask(text_pair, rng):
    ref, fused = text_pair
    ids = torch.from_numpy(random_inputs(TEXT, 2, rng, seq=16)["input_ids"])
    ids[ids == 0] = 2000  # every position a real token
    ones = torch.ones_like(ids)
    with torch.no_grad():
        want = ref(ids, ones).double()
        got = fused(ids, None).double()
    assert torch.linalg.norm(got - want) / torch.linalg.norm(want) < 1e-10


@pytest.mark.parametrize("kernel,stride,size", [(3, 1, 9), (3, 2, 10), (5, 1, 7), (5, 2, 14)])
def test_tap_depthwise_equals_the_convolution(kernel, stride, size):
    from inference.models.efficientnet import SameConv
    from inference.models.fast_image import TapDepthwise

    conv = SameConv(6, 6, kernel, stride, groups=6, bias=True).double()
    x = torch.randn(2, 6, size, size, dtype=torch.float64)
    with torch.no_grad():
        want = conv(x)
        got = TapDepthwise(conv)(x)
    assert got.shape == want.shape
    assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)


def test_tap_depthwise_in_the_whole_image_model(rng):
    from inference.models.efficientnet import ImageEncoder, fold_batchnorm
    from inference.models.fast_image import use_tap_depthwise

    torch.manual_seed(int(rng.integers(1 << 31)))
    model = fold_batchnorm(ImageEncoder().eval()).double()
    pixels = torch.from_numpy(rng.integers(0, 256, (1, 64, 64, 3), dtype=np.uint8))
    with torch.no_grad():
        want = model.backbone(model.preprocess(pixels))
        got = use_tap_depthwise(model).backbone(model.preprocess(pixels))
    assert torch.allclose(got, want, rtol=1e-9, atol=1e-9)


def test_batched_crop_resize_equals_one_by_one():
    from torch.nn import functional as F

    from inference.bulk import crop_resize_batch
    from inference.preprocess_image import crop_box

    images = [torch.randint(0, 256, (3, 90, 120), dtype=torch.uint8) for _ in range(5)]
    got = crop_resize_batch(images, size=32, chunk=2)
    for img, out in zip(images, got):
        x0, y0, x1, y1 = crop_box(120, 90)
        one = F.interpolate(img[:, y0:y1, x0:x1].unsqueeze(0).float(), size=(32, 32), mode="bilinear",
                            antialias=True, align_corners=False)
        assert torch.equal(out, one.round().clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0))
    assert got.shape == (5, 32, 32, 3) and got.is_contiguous()


def _torch_cuda_backend(spec, max_batch=16):
    from inference.backends.torch_cuda import TorchCudaBackend
    from inference.config import BatchProfile

    backend = TorchCudaBackend(spec, None, BatchProfile(1, 8, max_batch), None)
    backend.torch = torch  # padding needs no device
    return backend


def test_torch_cuda_full_text_batches_drop_the_mask():
    backend = _torch_cuda_backend(TEXT)
    ids = torch.randint(1000, 2000, (5, 64))
    args, n, full = backend._pad({"input_ids": ids, "attention_mask": torch.ones_like(ids)}, True)
    assert full and n == 5 and len(args) == 1 and args[0].shape == (8, 64)
    assert torch.equal(args[0][:5], ids)


def test_torch_cuda_ragged_or_narrow_text_keeps_the_mask():
    backend = _torch_cuda_backend(TEXT)
    ids = torch.randint(1000, 2000, (3, 50))
    mask = torch.ones_like(ids)
    args, n, full = backend._pad({"input_ids": ids, "attention_mask": mask}, True)  # 50 -> bucket 64
    assert not full and [a.shape for a in args] == [(4, 64), (4, 64)]
    assert args[1][:3, :50].all() and not args[1][:3, 50:].any()
    assert args[1][3].tolist() == [1] + [0] * 63  # a padded row attends to one token
    mask[1, 30:] = 0
    args, _, full = backend._pad({"input_ids": ids, "attention_mask": mask}, False)
    assert not full and len(args) == 2


def test_torch_cuda_rejects_an_unknown_depthwise_form():
    from inference.errors import BackendError
    from inference.specs import IMAGE

    with pytest.raises(BackendError, match="depthwise"):
        from inference.backends.torch_cuda import TorchCudaBackend
        from inference.config import BatchProfile

        TorchCudaBackend(IMAGE, None, BatchProfile(), None, depthwise="winograd")


def test_torch_cuda_compile_choice_per_model(monkeypatch):
    from inference.backends.torch_cuda import compile_choice
    from inference.errors import BackendError

    assert compile_choice(None, "image") == "jit" and compile_choice(None, "text") == "off"
    assert compile_choice(True, "text") == "jit" and compile_choice(False, "image") == "off"
    monkeypatch.setenv("LINKSHOT_TORCH_COMPILE", "image=aot,text=off")
    assert compile_choice(None, "image") == "aot" and compile_choice(None, "text") == "off"
    monkeypatch.setenv("LINKSHOT_TORCH_COMPILE", "1")
    assert compile_choice(None, "text") == "jit"
    with pytest.raises(BackendError, match="aot, jit or off"):
        compile_choice("sometimes", "image")
