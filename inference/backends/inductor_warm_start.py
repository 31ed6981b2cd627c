"""Keep Inductor's coordinate-descent results when compiled kernels come back from the disk cache.

torch.compile with `coordinate_descent_tuning` tunes each generated kernel at its first run and
stores the best configuration, marked "found by coordinate descent", in the autotune cache. A
later process that loads the compiled graph from the cache should launch that configuration at
once. In torch up to 2.11 it often tunes again instead (pytorch/pytorch#172819): when a kernel
has a single configuration, or when the cached best equals one it compiled already, the mark
is dropped on the way (`CachingAutotuner.recheck_autotune_cache`), and the first run starts the
search again. On the image model that was 10 to 16 kernels and 4 to 13 s per batch bucket at
every worker start on an H100 (bench/RESULTS.md), up to half of a start from the cache.

The mark is lost a second way: kernels that a warm start loads through Inductor's compile
workers come back to the process pickled, and Triton's `Config.__setstate__` keeps only the fields
it knows, so `found_by_coordesc` does not survive the trip. Whether a kernel takes that way
depends on whether the worker pool has started by then, which is why the kernels tuned again
differ from one start to the next.

`keep_coordinate_descent_marks()` corrects both, each only where the installed torch or Triton
has the defect: the method is replaced by one that keeps the mark (the behaviour of later torch
releases), and unpickling a Config restores the mark from the pickled state.
"""
from __future__ import annotations

import inspect
import logging
import pickle
from typing import Any, Callable

log = logging.getLogger(__name__)
# The defect's own line: the cache hit is only looked at when the kernel had several configurations.
DEFECT = "len(cached_configs) == 1 and len(configs) > 1"
_announced = False  # the corrections are logged once a process


def has_defect(method: Callable[..., Any]) -> bool:
    try:
        source = inspect.getsource(method)
    except (OSError, TypeError):  # no source shipped: leave torch as it is
        return False
    return DEFECT in source


def keep_coordinate_descent_marks() -> tuple[str, ...]:
    """Install the corrections this torch and Triton need; the names of those installed."""
    global _announced
    try:
        from torch._inductor.runtime.triton_heuristics import CachingAutotuner
        from triton import Config
    except ImportError:  # no Inductor or no Triton: nothing is compiled for a GPU
        return ()
    corrected = [name for name, correct, target in (("recheck_autotune_cache", correct_recheck, CachingAutotuner),
                                                    ("Config.__setstate__", correct_config_pickling, Config))
                 if _applied(name, correct, target)]
    if corrected and not _announced:
        _announced = True
        log.info("Inductor's cached coordinate-descent results are kept at a warm start (%s corrected; "
                 "pytorch/pytorch#172819)", ", ".join(corrected))
    return tuple(corrected)


def _applied(name: str, correct: Callable[[type], bool], target: type) -> bool:
    # A torch or Triton whose internals moved on must still compile: only the start is slower then.
    try:
        return correct(target)
    except Exception as exc:  # noqa: BLE001 - whatever the probe or the swap raised
        log.warning("Inductor warm start: %s left as it is (%s: %s)", name, type(exc).__name__, exc)
        return False


def correct_recheck(tuner: type) -> bool:
    """Give `tuner` the recheck that keeps the mark, where its own has the defect."""
    current = tuner.recheck_autotune_cache
    if getattr(current, "keeps_coordinate_descent_marks", False):
        return True
    if not has_defect(current):
        return False
    tuner.recheck_autotune_cache = recheck_autotune_cache
    return True


def loses_mark(config_class: type) -> bool:
    probe = config_class({"XBLOCK": 64}, num_warps=4, num_stages=1)
    probe.found_by_coordesc = True
    return not getattr(pickle.loads(pickle.dumps(probe)), "found_by_coordesc", False)


def correct_config_pickling(config_class: type) -> bool:
    """Make unpickled `config_class` objects keep the mark, where they lose it now."""
    original = getattr(config_class, "__setstate__", None)
    if getattr(original, "keeps_coordinate_descent_marks", False):
        return True
    if original is None or not loses_mark(config_class):  # plain pickling keeps every attribute
        return False

    def __setstate__(self, state):
        original(self, state)
        if "found_by_coordesc" in state:
            self.found_by_coordesc = state["found_by_coordesc"]

    __setstate__.keeps_coordinate_descent_marks = True  # type: ignore[attr-defined]
    config_class.__setstate__ = __setstate__
    return True


def recheck_autotune_cache(self, reload_kernel_from_src: Callable[[], Any]) -> None:
    """Narrow a kernel loaded from the cache to its cached best configuration, with its mark."""
    from torch._inductor.runtime.triton_heuristics import (
        check_autotune_cache,
        dynamo_timed,
        triton_config_to_hashable,
    )

    assert self.is_statically_launchable()
    configs = [result.config for result in self.compile_results]
    cached, _, info = check_autotune_cache(configs, self.filename, self.inductor_meta)
    self.autotune_cache_info = info
    if info.get("autotune_cache_state") != "hit":
        return
    (best,) = cached
    found_by_coordesc = getattr(best, "found_by_coordesc", False)
    wanted = triton_config_to_hashable(best)
    for result in self.compile_results:
        if triton_config_to_hashable(result.config) == wanted:
            # The launcher is made from this object, and its mark decides whether tuning runs again.
            result.config.found_by_coordesc = found_by_coordesc
            self.compile_results = [result]
            return
    if found_by_coordesc:  # tuned to a configuration the cached kernel was not compiled for
        with dynamo_timed("CachingAutotuner.slow_precompile_config"):
            if self.fn.fn is None:
                self.fn = reload_kernel_from_src().fn
            self.compile_results = [self._precompile_config(best)]


recheck_autotune_cache.keeps_coordinate_descent_marks = True  # type: ignore[attr-defined]
