"""torch.compile's caches on disk under the models folder: a graph compiled by one process is
found by the next one instead of being compiled again; the folder is keyed by what the compiled
code depends on. Checked on the CPU with a tiny function (Inductor compiles C++ there)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from inference.backends.compile_cache import cache_folder, cached_folders

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import json, sys
from pathlib import Path
import torch
from inference.backends.compile_cache import cache_hits, use_cache_folder
folder = use_cache_folder(Path(sys.argv[1]), {"mode": "test"}, device="cpu")
f = torch.compile(lambda x: (x.sin() * 2).relu() + 1, dynamic=False)
assert torch.allclose(f(torch.ones(8)), (torch.ones(8).sin() * 2).relu() + 1)
print("RESULT " + json.dumps({"folder": str(folder), **cache_hits()}))
"""


def compile_in_fresh_process(models_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_CACHE_DIR"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(models_dir)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=600, check=True)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[7:])


def test_a_graph_compiled_once_is_loaded_by_the_next_process(tmp_path):
    first = compile_in_fresh_process(tmp_path)
    again = compile_in_fresh_process(tmp_path)
    assert (first["miss"], first["hit"]) == (1, 0)
    assert (again["miss"], again["hit"]) == (0, 1)
    folder = Path(first["folder"])
    assert folder == Path(again["folder"]) and folder.parent == tmp_path / "compiled"
    assert cached_folders(tmp_path) == [folder]


def test_the_folder_changes_with_what_the_compiled_code_depends_on(tmp_path):
    base = cache_folder(tmp_path, {"max_autotune": True}, device="cpu")
    assert base == cache_folder(tmp_path, {"max_autotune": True}, device="cpu")
    assert base != cache_folder(tmp_path, {"max_autotune": False}, device="cpu")
    assert "-sm00-torch" in base.name  # no compute capability on the CPU
