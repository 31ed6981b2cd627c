"""Inductor's coordinate-descent results survive a warm start (inference/backends/inductor_warm_start.py).

On a GPU: one process compiles and tunes a kernel into an empty cache, the next loads it from the
cache and must launch the tuned configuration without tuning again. Where the installed torch has
the defect, a process without the correction is shown to tune again (the test can fail)."""
from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest

from inference.backends.inductor_warm_start import (
    DEFECT,
    correct_config_pickling,
    correct_recheck,
    has_defect,
    keep_coordinate_descent_marks,
    loses_mark,
    recheck_autotune_cache,
)
from tests.inference.conftest import ROOT, fresh_process, reported


def test_the_method_is_replaced_only_where_it_has_the_defect(tmp_path):
    # exec'd code has no source file for inspect; give each class one, as torch's module has.
    tuners = {}
    for name, line in (("broken", DEFECT), ("fixed", "len(cached_configs) == 1")):
        path = tmp_path / f"{name}.py"
        path.write_text(f"class Tuner:\n    def recheck_autotune_cache(self, reload):\n        if {line}:\n"
                        f"            return 1\n")
        namespace: dict = {"__name__": name}
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        tuners[name] = namespace["Tuner"]
    broken, fixed = tuners["broken"], tuners["fixed"]
    untouched = fixed.recheck_autotune_cache
    assert has_defect(broken.recheck_autotune_cache) and not has_defect(untouched)
    assert correct_recheck(broken) is True
    assert broken.recheck_autotune_cache is recheck_autotune_cache
    assert correct_recheck(broken) is True  # once installed, left as it is
    assert correct_recheck(fixed) is False
    assert fixed.recheck_autotune_cache is untouched


def test_a_method_without_source_is_left_alone():
    assert has_defect(len) is False


class ForgetfulConfig:
    """Like Triton's Config: unpickling keeps only the fields the class knows."""

    def __init__(self, kwargs, num_warps=4, num_stages=3):
        self.kwargs, self.num_warps, self.num_stages = kwargs, num_warps, num_stages

    def __setstate__(self, state):
        self.kwargs = state.get("kwargs", {})
        self.num_warps = state.get("num_warps", 4)
        self.num_stages = state.get("num_stages", 3)


class PlainConfig:
    def __init__(self, kwargs, num_warps=4, num_stages=3):
        self.kwargs, self.num_warps, self.num_stages = kwargs, num_warps, num_stages


def test_a_correction_that_cannot_be_applied_leaves_the_compile_alone(caplog):
    from inference.backends.inductor_warm_start import _applied

    class ChangedConfig:  # a later Triton whose Config takes other arguments
        def __init__(self, options):
            self.options = options

        def __setstate__(self, state):
            self.options = state.get("options")

    with caplog.at_level("WARNING"):
        assert _applied("Config.__setstate__", correct_config_pickling, ChangedConfig) is False
    assert "Config.__setstate__ left as it is (TypeError" in caplog.text
    assert "keeps_coordinate_descent_marks" not in vars(ChangedConfig.__setstate__)


def _round_trip(config_class: type, mark: bool):
    config = config_class({"XBLOCK": 128}, num_warps=8, num_stages=2)
    config.found_by_coordesc = mark
    return pickle.loads(pickle.dumps(config))


def test_a_config_that_loses_the_mark_in_pickling_keeps_it_once_corrected():
    assert loses_mark(ForgetfulConfig)
    assert not hasattr(_round_trip(ForgetfulConfig, True), "found_by_coordesc")
    assert correct_config_pickling(ForgetfulConfig) is True
    back = _round_trip(ForgetfulConfig, True)
    assert back.found_by_coordesc is True and (back.kwargs, back.num_warps, back.num_stages) == ({"XBLOCK": 128}, 8, 2)
    assert _round_trip(ForgetfulConfig, False).found_by_coordesc is False
    assert correct_config_pickling(ForgetfulConfig) is True  # once installed, left as it is


def test_a_config_whose_pickling_keeps_the_mark_is_left_alone():
    assert not loses_mark(PlainConfig)
    assert correct_config_pickling(PlainConfig) is False
    assert not hasattr(PlainConfig, "__setstate__")


def _loaded_kernel(tmp_path: Path, compiled: list, cached_best=None):
    """A kernel as a warm start loads it: its compiled configurations without their marks (they
    come back pickled), and, if `cached_best`, that configuration in its autotune cache, marked as
    found by coordinate descent."""
    from torch._inductor.runtime.autotune_cache import AutotuneCache
    from torch._inductor.runtime.triton_heuristics import hash_configs

    filename = tmp_path / "kernel.py"
    filename.write_text("# generated kernel\n")
    meta = {"coordinate_descent_tuning": True, "autotune_local_cache": True, "autotune_remote_cache": False,
            "is_fbcode": False, "backend_hash": "0" * 64}
    if cached_best is not None:
        AutotuneCache.create(meta, str(filename), hash_configs(compiled)).save(cached_best, 1000,
                                                                             found_by_coordesc=True)
    unmarked = [type(c)(dict(c.kwargs), num_warps=c.num_warps, num_stages=c.num_stages) for c in compiled]
    kernel = SimpleNamespace(compile_results=[SimpleNamespace(config=c) for c in unmarked], filename=str(filename),
                             inductor_meta=meta, is_statically_launchable=lambda: True,
                             fn=SimpleNamespace(fn=object()))
    kernel._precompile_config = lambda config: SimpleNamespace(config=config)
    return kernel


@pytest.mark.parametrize("case", ["one configuration", "best compiled already", "tuned to a new one"])
def test_a_kernel_loaded_from_the_cache_gets_its_tuned_configuration_marked(tmp_path, case):
    Config = pytest.importorskip("triton").Config
    a = Config({"XBLOCK": 256}, num_warps=4, num_stages=1)
    b = Config({"XBLOCK": 512}, num_warps=8, num_stages=1)
    compiled, best = {"one configuration": ([a], a), "best compiled already": ([a, b], b),
                      "tuned to a new one": ([a, b], Config({"XBLOCK": 1024}, num_warps=8, num_stages=1))}[case]
    kernel = _loaded_kernel(tmp_path, compiled, best)
    recheck_autotune_cache(kernel, lambda: None)
    assert kernel.autotune_cache_info["autotune_cache_state"] == "hit"
    (result,) = kernel.compile_results
    assert result.config == best and result.config.found_by_coordesc is True


def test_a_kernel_with_nothing_cached_is_left_as_compiled(tmp_path):
    Config = pytest.importorskip("triton").Config
    compiled = [Config({"XBLOCK": 256}, num_warps=4, num_stages=1), Config({"XBLOCK": 512}, num_warps=8)]
    kernel = _loaded_kernel(tmp_path, compiled)
    recheck_autotune_cache(kernel, lambda: None)
    assert [r.config for r in kernel.compile_results] == compiled
    assert not any(getattr(r.config, "found_by_coordesc", False) for r in kernel.compile_results)


CHILD = """
import json, os, sys, time
import torch
from torch._inductor.runtime.triton_heuristics import CachingAutotuner
from inference.backends.inductor_warm_start import keep_coordinate_descent_marks
if sys.argv[1] == "corrected":
    keep_coordinate_descent_marks()
tuned = []
original = CachingAutotuner.coordinate_descent_tuning
def counting(self, *args, **kwargs):
    tuned.append(self.fn.__name__)
    return original(self, *args, **kwargs)
CachingAutotuner.coordinate_descent_tuning = counting
# Let the compile workers start first: a kernel they load comes back pickled (the mark's second way out).
from torch._inductor.async_compile import AsyncCompile, get_compile_threads
deadline = time.monotonic() + 60
while get_compile_threads() > 1 and not AsyncCompile.use_process_pool() and time.monotonic() < deadline:
    time.sleep(0.1)
f = torch.compile(lambda x: torch.nn.functional.gelu(x * 3.0) + x.sin(), dynamic=False,
                  options={"coordinate_descent_tuning": True})
x = torch.randn(4096, 1024, device="cuda")
assert torch.allclose(f(x), torch.nn.functional.gelu(x * 3.0) + x.sin(), atol=1e-5)
print("RESULT " + json.dumps({"tuned": tuned}))
"""


def _tuned_in_fresh_process(cache: Path, how: str) -> list[str]:
    done = fresh_process(CHILD, how, env={**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(reported(done, "RESULT"))["tuned"]


def test_tritons_config_keeps_the_mark_through_pickling_once_corrected():
    Config = pytest.importorskip("triton").Config
    keep_coordinate_descent_marks()
    assert not loses_mark(Config)
    assert _round_trip(Config, True).found_by_coordesc is True


@pytest.mark.gpu
def test_a_kernel_tuned_once_is_not_tuned_again_by_the_next_process(tmp_path):
    from torch._inductor.runtime.triton_heuristics import CachingAutotuner

    assert _tuned_in_fresh_process(tmp_path, "corrected"), "the cold process tuned nothing"
    assert _tuned_in_fresh_process(tmp_path, "corrected") == []
    if has_defect(CachingAutotuner.recheck_autotune_cache):  # this torch tunes again by itself
        assert _tuned_in_fresh_process(tmp_path, "as shipped")
