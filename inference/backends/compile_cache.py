"""torch.compile's own caches kept on disk with the models, so a compile is paid once per machine.

torch.compile ("jit") costs about half a minute per batch bucket the first time: Inductor
generates and tunes kernels. Inductor already caches all of it (the FX graph cache, the
AOTAutograd cache, autotuning choices, Triton kernels) under TORCHINDUCTOR_CACHE_DIR, but by
default in /tmp, which a container or a reboot empties. Pointing it at a folder under
<models_dir>/compiled/ keyed like the engines (device, compute capability, torch and CUDA
versions, Inductor settings, the source of the model code) makes a later start find every
compiled graph: tracing the model and loading the kernels instead of generating them.
Code or settings that change the compiled result change the key, so a stale cache is never
used; an old folder is just left behind. An explicit TORCHINDUCTOR_CACHE_DIR wins.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from .. import config
from .aot_cache import _slug, code_digest, device_identity

log = logging.getLogger(__name__)
SUBDIR = "compiled"


def cache_folder(models_dir: Path, inductor: dict[str, Any], device: str = "cuda") -> Path:
    """The folder for graphs compiled with `inductor` settings on this device and torch."""
    import torch

    name, cc, cuda = device_identity(device)
    h = hashlib.sha256()
    for part in (json.dumps(inductor, sort_keys=True, default=str), code_digest(), torch.__version__, cuda, name,
                 f"{cc[0]}.{cc[1]}"):
        h.update(part.encode())
        h.update(b"\0")
    torch_tag = torch.__version__.split("+")[0]
    return Path(models_dir) / SUBDIR / f"{_slug(name)}-sm{cc[0]}{cc[1]}-torch{torch_tag}-{h.hexdigest()[:16]}"


_chosen: Path | None = None  # the folder this process pointed Inductor at


def use_cache_folder(models_dir: Path, inductor: dict[str, Any], device: str = "cuda") -> Path:
    """Point Inductor's caches at the keyed folder (before the first compile of this process).

    One process has one Inductor cache: the first model to compile chooses it."""
    global _chosen
    explicit = config.inductor_cache_dir()
    if _chosen is not None and explicit == str(_chosen):
        return _chosen
    if explicit and explicit != _torch_default():  # torch writes its /tmp default back into the variable
        log.info("torch.compile caches in %s (set by %s)", explicit, config.ENV_INDUCTOR_CACHE)
        return Path(explicit)
    folder = cache_folder(models_dir, inductor, device)
    folder.mkdir(parents=True, exist_ok=True)
    config.point_inductor_cache(folder)
    _chosen = folder
    import torch._inductor.config as inductor_config

    # On even where a build of torch defaults them off: these caches are what make a restart cheap.
    inductor_config.fx_graph_cache = True
    inductor_config.autotune_local_cache = True
    already = warm(folder)
    if already:
        # Graphs found in the cache need no compile workers, and starting the pool costs seconds.
        inductor_config.compile_threads = 1
    log.info("torch.compile caches in %s%s", folder, " (warm)" if already else "")
    return folder


def warm(folder: Path) -> bool:
    """Whether compiled graphs are already stored in `folder`."""
    graphs = folder / "fxgraph"
    return graphs.is_dir() and any(graphs.iterdir())


def _torch_default() -> str:
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    return os.path.abspath(default_cache_dir())


def cache_hits() -> dict[str, int]:
    """Inductor's FX graph cache hits and misses in this process (for logs and benchmarks)."""
    from torch._dynamo.utils import counters

    inductor = counters["inductor"]
    return {"hit": int(inductor.get("fxgraph_cache_hit", 0)), "miss": int(inductor.get("fxgraph_cache_miss", 0))}


def cached_folders(models_dir: Path) -> list[Path]:
    folder = Path(models_dir) / SUBDIR
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
