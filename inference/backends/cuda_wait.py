"""How a process's CPU thread waits for the GPU (the CUDA driver's scheduling flags).

CUDA's default for a process with one context is to spin: a thread waiting for a kernel or a copy
keeps its core busy until the GPU answers. One process loses little by it. Sixteen processes
sharing one GPU on sixteen cores (``manage.py reanalyze --jobs 16``) would burn a core each
whenever their models wait, the cores their database stages need; blocking puts the waiting
thread to sleep until the GPU signals it. The flags belong to the device's primary context, so
they are set through the driver (libcuda) before torch creates that context.
"""
from __future__ import annotations

import ctypes

# CUctx_flags: CU_CTX_SCHED_AUTO, _SPIN, _YIELD, _BLOCKING_SYNC.
FLAGS = {"auto": 0, "spin": 1, "yield": 2, "block": 4}
CONTEXT_ACTIVE = 708  # CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE: CUDA 13's driver refuses new flags once the context exists
_set: set[str] = set()  # modes set in this process: each model's backend asks, the first one sets it


def set_wait(mode: str, library: str = "libcuda.so.1") -> str | None:
    """Set ``mode`` (a key of FLAGS) on every visible device's primary context; returns None, or why
    it could not (no driver, a driver error): the default then stands."""
    if mode == "auto" or mode in _set:
        return None
    try:
        cuda = ctypes.CDLL(library)
    except OSError as exc:
        return f"the CUDA driver did not load: {exc}"
    count, device = ctypes.c_int(0), ctypes.c_int(0)
    for call, args in (("cuInit", (0,)), ("cuDeviceGetCount", (ctypes.byref(count),))):
        if (status := getattr(cuda, call)(*args)) != 0:
            return f"{call} failed with CUDA error {status}"
    for ordinal in range(count.value):
        if (status := cuda.cuDeviceGet(ctypes.byref(device), ordinal)) != 0:
            return f"cuDeviceGet({ordinal}) failed with CUDA error {status}"
        if (status := cuda.cuDevicePrimaryCtxSetFlags(device, FLAGS[mode])) == CONTEXT_ACTIVE:
            return f"device {ordinal}'s context was created before the flags could be set (CUDA error {status})"
        if status != 0:
            return f"cuDevicePrimaryCtxSetFlags on device {ordinal} failed with CUDA error {status}"
    _set.add(mode)
    return None
