"""How many analysing processes one GPU's memory holds (``manage.py reanalyze --jobs N``).

Each process has its own CUDA context, cuDNN and cuBLAS workspaces and the activations of a whole
batch through both models. At batch 512 a process held 5.4-5.5 GiB on an H100 (nvidia-smi, 4
processes, bench/RESULTS.md "Reanalyze on an H100 host: GPU memory per process"), so 16 of them
need more than an 80 GB card has: there 6 of 16 processes failed at their first batch
(CUBLAS_STATUS_ALLOC_FAILED) and the command ended with their analyses pending. The command asks
the driver how much memory is free before it starts the processes and starts no more than fit.

The free memory is read with ``nvidia-smi`` (the driver's own tool): this process must not create
a CUDA context of its own (the processes are started after it, and a context costs memory too).
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess

GIB = 2**30
# Measured at batch 512 (see above), counted with a tenth more for the peaks of a first batch that
# one reading every half second can miss; smaller batches are estimated from a fixed part (the
# context, the libraries' workspaces, the weights) and a part that grows with the batch (activations).
PER_PROCESS_AT_512 = 6.0 * GIB
FIXED_PER_PROCESS = 1.0 * GIB
# Left free for the driver and for the scoring's neighbour searches, which share the card.
HEADROOM = 0.05


def per_process_bytes(batch: int) -> float:
    """The GPU memory one analysing process needs at this batch size (an estimate, see above)."""
    return FIXED_PER_PROCESS + (PER_PROCESS_AT_512 - FIXED_PER_PROCESS) * batch / 512


def processes_that_fit(jobs: int, batch: int, free: int | None) -> int:
    """``jobs``, or fewer where ``free`` bytes of GPU memory hold fewer processes (at least one);
    None (no GPU, or its memory unknown) leaves ``jobs`` as it is."""
    if free is None:
        return jobs
    fit = math.floor(free * (1 - HEADROOM) / per_process_bytes(batch))
    return max(1, min(jobs, fit))


def free_bytes() -> int | None:
    """Free memory of the GPU the processes will use (the first one CUDA_VISIBLE_DEVICES names), or
    None where no NVIDIA driver answers."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    command = [tool, "--query-gpu=memory.free", "--format=csv,noheader,nounits"]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    if visible:
        command += ["--id", visible]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.split()
    if done.returncode != 0 or not lines or not lines[0].isdigit():
        return None
    return int(lines[0]) * 2**20  # MiB
