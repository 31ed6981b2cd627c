"""The draining thread of a re-analysis: what one process does per link besides the models.

    .venv/bin/python bench/drain_thread.py [--links 16384] [--batch 512] [--tags 100] [--baseline REF] [--write]

On a GPU host a re-analysing process is limited by this thread, not by the GPU (bench/RESULTS.md,
"Reanalyze with a vocabulary on an H200 host"): claiming a batch and reading its inputs (the text
work of tagging/analysis/inputs.py), storing the vectors, and scoring and storing suggestions
against the person's library. This runs exactly that code (tagging/analysis/run.py: claim, write)
over a second `reanalyze --all` of N links with 1-2 of the person's tags each, on a fresh SQLite
database, with the models' outputs replaced by vectors near each link's tag, so that the models'
time (measured elsewhere) stays out and a 2-core CPU machine measures the GPU host's other limit.
``--baseline REF`` runs the same measurement on the code of git revision REF (a temporary
worktree) in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(links: int, batch: int, tags: int) -> dict:
    """Seconds per link of each stage of the draining thread (a child process: its own database)."""
    import random

    import django
    import numpy as np

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone as django_time

    from snapshots.models import Link, Snapshot
    from tagging.analysis import jobs, run
    from tagging.analysis.predictor import model_version
    from tagging.models import Tag

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench")
    opening = ("Linkshot keeps a snapshot of every page it saves: a screenshot, the rendered HTML and the "
               "readable text. The tag models read the screenshot and the text and suggest tags. ") * 10
    words, rng = [f"word{i}" for i in range(5000)], random.Random(0)
    weights = [1 / (i + 1) for i in range(5000)]  # each page words of its own too (Zipf), as bench/suggest_speed.py
    texts = [opening[:1200] + " ".join(rng.choices(words, weights, k=120)) for _ in range(links)]
    vocabulary = [Tag.objects.create(user=user, name=f"topic-{t}") for t in range(tags)]
    rows = Link.objects.bulk_create(Link(user=user, url=f"https://example.org/page/{n}", title=f"Page {n}",
                                         page_text=texts[n]) for n in range(links))
    Snapshot.objects.bulk_create(Snapshot(link=link, status="done", text=texts[n], title=link.title,
                                          finished_at=django_time.now()) for n, link in enumerate(rows))
    Link.tags.through.objects.bulk_create(Link.tags.through(link_id=link.pk, tag_id=vocabulary[t].pk)
                                          for n, link in enumerate(rows) for t in {n % tags, (n * 7) % tags})
    vectors = np.random.default_rng(0)
    text_centres, image_centres = vectors.standard_normal((tags, 384)), vectors.standard_normal((tags, 1280))

    def unit(v):
        return (v / np.linalg.norm(v)).astype(np.float32)

    def outputs(claimed) -> "run.Embedded":
        """What the models would return: vectors near each link's first tag."""
        embedded = run.Embedded()
        for n, analysis in enumerate(claimed.analyses):
            topic = analysis.link_id % tags
            embedded.texts[n] = unit(text_centres[topic] + vectors.standard_normal(384))
            feature = unit(image_centres[topic] + vectors.standard_normal(1280))
            embedded.images[n] = (feature, feature, [("web site", 0.8), ("menu", 0.05)])
        return embedded

    def drain(times: "run.StageTimes") -> None:
        while True:
            started = time.perf_counter()
            claimed = run.claim(batch)
            times.claim += time.perf_counter() - started
            if claimed is None:
                return
            run.write(claimed, outputs(claimed), times)

    jobs.queue_reanalysis(Link.objects.all(), model_version(), True)
    drain(run.StageTimes())  # the first analysis: the library a re-analysis finds
    jobs.queue_reanalysis(Link.objects.all(), model_version(), True)
    times = run.StageTimes()
    drain(times)
    per_link = {name: round(1000 * getattr(times, name) / links, 3) for name in ("claim", "store", "suggest")}
    return {**per_link, "total": round(sum(per_link.values()), 3)}


def run_in(tree: Path, args) -> dict:
    """:func:`measure` in a fresh interpreter on the code of ``tree`` (this file's own copy of it)."""
    with tempfile.TemporaryDirectory(prefix="linkshot-drain-") as tmp:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "LINKSHOT_DATA_DIR": tmp,
               "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "LINKSHOT_LIST_CACHE_SECONDS": "0",
               "LINKSHOT_MODELS_DIR": os.environ.get("LINKSHOT_MODELS_DIR", str(ROOT / "data" / "models"))}
        # The product's code from ``tree``, this measurement from this file (a baseline may predate it).
        code = (f"import sys, json, importlib.util; sys.path.insert(0, {str(tree)!r}); "
                f"spec = importlib.util.spec_from_file_location('drain_thread', {__file__!r}); "
                "bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench); "
                f"print(json.dumps(bench.measure({args.links}, {args.batch}, {args.tags})))")
        out = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, check=True, capture_output=True,
                             text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=16384)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--tags", type=int, default=100)
    parser.add_argument("--baseline", help="a git revision measured too, in a temporary worktree")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    results = {}
    if args.baseline:
        with tempfile.TemporaryDirectory(prefix="linkshot-baseline-") as tmp:
            tree = Path(tmp) / "tree"
            subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.baseline], cwd=ROOT, check=True,
                           capture_output=True)
            try:
                results[args.baseline] = run_in(tree, args)
                print(args.baseline, results[args.baseline], flush=True)
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)
    results["this tree"] = run_in(ROOT, args)
    print("this tree", results["this tree"], flush=True)
    if args.write:
        write(args, results)


def write(args, results: dict) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.results_file import replace_section

    lines = [f"`bench/drain_thread.py --links {args.links} --batch {args.batch} --tags {args.tags}`, "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, "
             "SQLite. Milliseconds a link in the draining thread of a re-analysis (models excluded):", "",
             "| code | claiming and reading inputs | storing vectors | scoring and suggestions | in all |",
             "|---|---|---|---|---|"]
    lines += [f"| {name} | {r['claim']} | {r['store']} | {r['suggest']} | {r['total']} |" for name, r in results.items()]
    replace_section("Reanalyze: the draining thread", lines + [""])


if __name__ == "__main__":
    main()
