"""AOTInductor packages cached on disk (torch-cuda's opt-in compile="aot"), checked on the CPU
with a tiny module: compiled once, loaded from the cache after, keyed by what they depend on."""
import pytest
import torch

from inference.backends.aot_cache import AotSpec, cached_packages, load_or_compile, locate


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        y = self.fc(x)
        return torch.relu(y), y.sum(dim=1)


SPEC = AotSpec("tiny", "full", {"x": (4, 8)}, {"x": "float32"}, {"x": {0: (1, 64)}}, precision="fp32")


@pytest.mark.timeout(300)
def test_package_compiled_once_then_loaded_from_the_cache_for_any_batch(tmp_path, rng):
    module = Tiny().eval()
    calls = []

    def module_fn():
        calls.append(1)
        return module
    first = load_or_compile(module_fn, SPEC, ["x"], tmp_path, "weights-a", device="cpu")
    again = load_or_compile(module_fn, SPEC, ["x"], tmp_path, "weights-a", device="cpu")
    assert first.compiled and not again.compiled and len(calls) == 1
    assert again.path == first.path and cached_packages(tmp_path) == [first.path]
    for batch in (1, 7, 64):  # one package serves the whole symbolic batch range
        x = torch.from_numpy(rng.standard_normal((batch, 8)).astype("float32"))
        got, want = again.runner(x), module(x)
        assert all(torch.allclose(g, w, atol=1e-5) for g, w in zip(got, want))
    other = locate(SPEC, tmp_path, "weights-b", device="cpu")
    assert other != first.path and other.name.startswith("tiny-full-")  # other weights: another package
    (first.path).write_bytes(b"truncated")  # a broken file in the cache is compiled again
    rebuilt = load_or_compile(module_fn, SPEC, ["x"], tmp_path, "weights-a", device="cpu")
    assert rebuilt.compiled and len(calls) == 2
