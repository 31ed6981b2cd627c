"""Suggestion speed: scoring one link against a large library, and re-analysing stored snapshots.

    .venv/bin/python bench/suggest_speed.py [--links 100000] [--reanalyze 200] [--reanalyze-batch 128] [--write]

scoring    one person with N analysed links (unit vectors as the index keeps them, 1-3 of 300
           tags each): time of score_tags() for one link, model inference excluded, against a
           baseline measured in the same run: the same neighbour search as a Python loop over rows.
index      memory of the person's in-memory index (vectors and the word index), and the time to
           build it again from the kept arrays (what a change of the person's tags costs).
hand-over  the index pickled and read back as `reanalyze --jobs N` hands it to its processes
           (tagging/analysis/library.save), against a plain pickle of the whole object state
           (every derived array kept) in the same run.
reanalyze  `manage.py reanalyze --all` over M links with 1280x800 screenshots (PNG, as the capture
           keeps them, or --screenshot-format jpeg), their model views, and a page of text (a shared
           opening, then words of its own), each link with 1-2 of the person's --reanalyze-tags
           tags (so each is scored against them),
           on a fresh SQLite database (the real models, the configured backend: on a GPU machine
           the whole command end to end on the GPU, e.g. --links 0 --reanalyze 8192
           --reanalyze-batch 512 --reanalyze-jobs 1 4 8 --model-views on off). One run per
           processes x model views (kept, or none as in snapshots made before the capture kept them).
           --baseline DIR: each run is made twice, alternating, by this tree and by the code in DIR
           (e.g. `git archive REV | tar -x -C DIR`), on the same database.
"""
from __future__ import annotations

import argparse
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference.config import TEXT_DIM  # noqa: E402
from tagging.scoring.lexical import TERMS_KEPT  # noqa: E402
from tagging.scoring.index import Library  # noqa: E402
from tagging.scoring.score import Query, VocabTag, score_tags  # noqa: E402
from tagging.scoring.words import PageWords  # noqa: E402
from tagging.analysis.vectors import unit  # noqa: E402
from bench.results_file import replace_section  # noqa: E402

IMAGE_INDEX_DIM = 256  # tagging.analysis.library.IMAGE_INDEX_DIM (imported there with Django)


def synthetic_library(n: int, tags: int, rng) -> tuple[Library, list[VocabTag]]:
    """Links around 300 topics, as a tagged library looks to the scorer."""
    centres = unit(rng.standard_normal((tags, TEXT_DIM)).astype(np.float32))
    image_centres = unit(rng.standard_normal((tags, IMAGE_INDEX_DIM)).astype(np.float32))
    topic = rng.integers(0, tags, n)
    text = unit(centres[topic] + 0.6 * unit(rng.standard_normal((n, TEXT_DIM)).astype(np.float32)))
    image = unit(image_centres[topic] + 0.8 * unit(rng.standard_normal((n, IMAGE_INDEX_DIM)).astype(np.float32)))
    extra = rng.integers(0, tags, (n, 2))
    row_tags = [tuple({int(topic[i]), *(int(t) for t in extra[i][: rng.integers(0, 3)])}) for i in range(n)]
    vocab = [VocabTag(t, f"tag{t}", centres[t]) for t in range(tags)]
    return Library(np.arange(n, dtype=np.int64), text, image, row_tags, synthetic_terms(topic, rng)), vocab


def synthetic_terms(topic: np.ndarray, rng, words: int = 200_000) -> list:
    """Each link's top terms (tagging.scoring.lexical) as pages have them: Zipf-distributed words of a
    200,000-word vocabulary, a quarter of them from its topic's own 400 words."""
    weights = 1.0 / np.arange(1, words + 1)
    common = rng.choice(words, (len(topic), TERMS_KEPT), p=weights / weights.sum())
    own = (topic[:, None] * 400 + rng.integers(0, 400, (len(topic), TERMS_KEPT // 4))) % words
    out = []
    for i in range(len(topic)):
        ids = np.unique(np.concatenate([common[i, : TERMS_KEPT - own.shape[1]], own[i]]).astype(np.uint32))
        out.append((ids, rng.integers(1, 30, len(ids)).astype(np.float32)))
    return out


def python_loop_neighbours(query: np.ndarray, library: Library, k: int = 10) -> list[int]:
    """The baseline: the same nearest-neighbour search, one row at a time."""
    best: list[tuple[float, int]] = []
    for row in range(library.size):
        if not library.row_tags[row]:
            continue
        sim = float(sum(a * b for a, b in zip(query.tolist(), library.text_matrix[row].tolist())))
        best.append((sim, row))
    return [row for _, row in sorted(best, reverse=True)[:k]]


def bench_scoring(n: int, rng) -> dict:
    started = time.perf_counter()
    library, vocab = synthetic_library(n, 300, rng)
    built = time.perf_counter() - started
    # What a tag change costs: the worker builds the person's Library again from the kept arrays.
    started = time.perf_counter()
    Library(library.link_ids, library.text, library.image_matrix, library.row_tags, library.terms)
    rebuilt = time.perf_counter() - started
    page = PageWords.of("Some page about tag17 and more", "https://example.org/tag17/page", "", "body " * 300)
    timings = []
    for i in range(30):
        query = Query(link_id=-1, text=library.text_matrix[i], image=library.image_matrix[i], page=page,
                      terms=library.terms[i])
        start = time.perf_counter()
        score_tags(query, library, vocab)
        timings.append(time.perf_counter() - start)
    start = time.perf_counter()
    python_loop_neighbours(library.text_matrix[0], library)
    loop = time.perf_counter() - start
    words = library.lexical
    index_bytes = (library.text_matrix.nbytes + library.image_matrix.nbytes + library.link_ids.nbytes
                   + words._ids.nbytes + words._rows.nbytes + words._weights.nbytes + words._dense.nbytes
                   + sum(ids.nbytes + counts.nbytes for ids, counts in library.terms))
    ordered = sorted(timings)
    return {"links": n, "score_p50_ms": round(1000 * statistics.median(timings), 1),
            "score_p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1),
            "python_loop_ms": round(1000 * loop, 1), "index_mb": round(index_bytes / 2**20, 1),
            "synthetic_build_s": round(built, 1), "library_build_s": round(rebuilt, 2),
            "handover": bench_handover(library)}


def bench_handover(library: Library) -> dict:
    """Size and seconds of the library's pickle, written and read back: as the product pickles it
    (Library.__getstate__), and as a plain pickle of every attribute (the baseline)."""
    def plain(obj: Library) -> dict:
        return {**vars(obj), "lexical": dict(vars(obj.lexical))}

    # Kept in float16, as tagging/analysis/library.py keeps every link.
    library = Library(library.link_ids, library.text.astype(np.float16), library.image.astype(np.float16),
                      library.row_tags, library.terms)
    got = {}
    for label, value in (("product", library), ("plain", plain(library))):
        started = time.perf_counter()
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        written = time.perf_counter()
        pickle.loads(blob)
        got[label] = {"mb": round(len(blob) / 2**20, 1), "write_s": round(written - started, 3),
                      "read_s": round(time.perf_counter() - written, 3)}
    return got


REANALYZE_SETUP = """
import io, os, random
from PIL import Image, ImageOps
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from snapshots.capture.extract import screenshot_views
from snapshots.models import Link, Snapshot
from tagging.models import Tag
user = get_user_model().objects.create_user("bench")
text = open(os.environ["BENCH_TEXT"]).read()
fmt, count = os.environ["BENCH_FORMAT"], int(os.environ["BENCH_LINKS"])
# Each page its own words as well (Zipf-distributed over 5,000), after the shared opening: pages of
# one template with no words of their own would make every word-index lookup touch every page.
words, rng = [f"word{i}" for i in range(5000)], random.Random(0)
weights = [1 / (i + 1) for i in range(5000)]
texts = [text[:1200] + " ".join(rng.choices(words, weights, k=120)) for _ in range(count)]
page = Image.open(os.environ["BENCH_PAGE"]).convert("RGB")
shots = []
for n in range(min(count, 64)):  # distinct real-looking viewports, cycled: stored once, shared by the rows
    image = page.transform(page.size, Image.AFFINE, (1, 0, 0, 0, 1, (n * 37) % 300), fillcolor="white")
    image = ImageOps.invert(image) if n % 3 == 1 else image
    out = io.BytesIO()
    # As the capture keeps them: a PNG from Chromium's fast zlib setting (compress level 1), or a JPEG.
    image.save(out, "PNG", compress_level=1) if fmt == "png" else image.save(out, "JPEG", quality=85)
    shot, thumb, view = out.getvalue(), *screenshot_views(out.getvalue(), 400)
    shots.append([default_storage.save(f"bench/{n}/{name}", ContentFile(data)) for name, data in
                  ((f"screenshot.{fmt}", shot), ("thumbnail.webp", thumb), ("model_view.png", view))])
# A vocabulary as people have one: every link carries 1-2 of the person's tags, so each re-analysed
# link is scored against a tagged library (with no tags the scoring has nothing to do).
tags = [Tag.objects.create(user=user, name=f"topic-{t}") for t in range(int(os.environ["BENCH_TAGS"]))]
links = Link.objects.bulk_create(Link(user=user, url=f"https://example.org/page/{n}", title=f"Page {n}",
                                      page_text=texts[n]) for n in range(count))
Snapshot.objects.bulk_create(Snapshot(link=link, status="done", text=texts[n], title=link.title,
                                      finished_at=timezone.now(), screenshot=shots[n % len(shots)][0],
                                      thumbnail=shots[n % len(shots)][1], model_view=shots[n % len(shots)][2])
                             for n, link in enumerate(links))
Link.tags.through.objects.bulk_create(Link.tags.through(link_id=link.pk, tag_id=tags[t].pk)
                                      for n, link in enumerate(links) if tags
                                      for t in {n % len(tags), (n * 7) % len(tags)})
"""
# Snapshots kept before the capture made model views: the analysis decodes the screenshot itself.
DROP_MODEL_VIEWS = "from snapshots.models import Snapshot; Snapshot.objects.update(model_view='')"
PAGE = ROOT / "tests" / "inference" / "fixtures" / "docs_page.png"  # a real 1280x800 docs-page screenshot
TEXT = ("Linkshot keeps a snapshot of every page it saves: a screenshot, the rendered HTML and the readable "
        "text. The tag models read the screenshot and the text and suggest tags from the person's vocabulary. ") * 10


def bench_reanalyze(count: int, batch: int, screenshot_format: str, runs: list[tuple[bool, int, str | None]],
                    tags: int, baseline: Path | None = None) -> list[dict]:
    """`reanalyze --all` once per (model views kept, processes, variables set for the run: a
    "NAME=VALUE,..." string, "" for the command's own choices) in ``runs``, on one database: the
    runs with model views first, then they are dropped from the rows for the others. With
    ``baseline`` (a folder holding other code) each run is made by this tree, then by that code."""
    with tempfile.TemporaryDirectory(prefix="linkshot-reanalyze-") as tmp:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "LINKSHOT_DATA_DIR": tmp,
               "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "LINKSHOT_LIST_CACHE_SECONDS": "0",
               "LINKSHOT_MODELS_DIR": os.environ.get("LINKSHOT_MODELS_DIR", str(ROOT / "data" / "models"))}
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        text_file = Path(tmp) / "text.txt"
        text_file.write_text(TEXT)
        subprocess.run([*manage, "shell"], input=REANALYZE_SETUP, text=True, cwd=ROOT, check=True,
                       env={**env, "BENCH_LINKS": str(count), "BENCH_TEXT": str(text_file), "BENCH_PAGE": str(PAGE),
                            "BENCH_FORMAT": screenshot_format, "BENCH_TAGS": str(tags)}, capture_output=True)
        # Every link analysed once (the library a re-analysis finds), and the models' file caches warm
        # (by as many processes as the largest run uses: on a GPU host, much sooner than by one).
        first = subprocess.run([*manage, "reanalyze", "--batch", str(batch), "--jobs", str(max(run[1] for run in runs))],
                               cwd=ROOT, env=env, capture_output=True, text=True)
        if first.returncode != 0:
            raise RuntimeError(f"the first reanalyze failed: {first.stdout[-2000:]}\n{first.stderr[-4000:]}")
        results, views_kept = [], True
        for views, jobs, variables in sorted(runs, key=lambda run: not run[0]):
            if views_kept and not views:
                subprocess.run([*manage, "shell", "-c", DROP_MODEL_VIEWS], cwd=ROOT, env=env, check=True)
                views_kept = False
            for code in [ROOT] + ([baseline.resolve()] if baseline else []):
                # -v 2: the command's stage times (database or models) close its report
                result = _reanalyze_once([sys.executable, str(code / "manage.py"), "reanalyze", "--all", "--batch",
                                          str(batch), "--jobs", str(jobs), "-v", "2"],
                                         {**env, **_variables(variables)}, jobs, cwd=code)
                results.append({"links": count, "tags": tags, "batch": batch, "screenshots": screenshot_format,
                                 "model_views": views, "jobs": jobs, "variables": variables or "default",
                                 "code": "this tree" if code == ROOT else f"baseline {baseline}", **result})
                print(results[-1], flush=True)
    return results


def _variables(spec: str) -> dict[str, str]:
    """"NAME=VALUE,NAME=VALUE" as a dict ("" gives none)."""
    pairs = [item.split("=", 1) for item in spec.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise SystemExit(f"--variables: expected NAME=VALUE[,NAME=VALUE...], got {spec!r}")
    return {name.strip(): value.strip() for name, value in pairs}


def _reanalyze_once(command: list[str], env: dict, jobs: int, cwd: Path = ROOT) -> dict:
    start = time.perf_counter()
    run = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    progress, errors = _progress_times(run.stderr)
    stdout = run.stdout.read().decode()
    if run.wait() != 0:
        raise RuntimeError(f"manage.py reanalyze failed: {stdout[-2000:]}\n{errors[-4000:]}")
    elapsed = time.perf_counter() - start
    report = stdout.strip().splitlines()
    analysed = next(line for line in report if line.startswith("Analysed"))
    result = {"command_s": round(elapsed, 1), "links_per_s": float(analysed.rsplit("(", 1)[1].split()[0]),
              "report": " ".join(report)}
    vectors = [(t, n) for t, phase, n in progress if phase != "suggestions"]
    if len(vectors) >= jobs + 1:
        # After each process's first batch: a process's first one also pays each graph's first use
        # (compile or cache load, cuDNN's choice or timing, CUDA-graph capture), a cost of the
        # process start, not of the rate. The processes start together, so their first batches
        # are the first ``jobs`` reported (each report is one batch). The links are those whose
        # vectors were stored after those; the time runs to the last report, the suggestions'
        # phase included where the command has one.
        (t0, n0), t1 = vectors[jobs - 1], progress[-1][0]
        result["links_per_s_after_first_batch"] = round((vectors[-1][1] - n0) / max(t1 - t0, 1e-6), 1)
        # From the command's start: the first batch reported, each process's first, the last.
        result["batches_at_s"] = [round(t - start, 1) for t in (vectors[0][0], t0, t1)]
    return result


def _progress_times(stream) -> tuple[list[tuple[float, str, int]], str]:
    """(time seen, phase, links done) for each progress update the command writes
    ("\\r  vectors done/total ..." and "\\r  suggestions done/total ...", or "\\r  done/total links ..."
    from a command of one phase: phase ""), and the other lines it wrote there (warnings, a traceback)."""
    seen, other, buffer = [], [], ""
    while chunk := os.read(stream.fileno(), 4096):
        buffer += chunk.decode(errors="replace")
        *updates, buffer = buffer.replace("\n", "\r").split("\r")
        for update in updates:
            words = update.split()
            phase = words[0] if words and words[0] in ("vectors", "suggestions") else ""
            done = (words[1] if phase else words[0] if words else "").split("/")[0]
            if done.isdigit() and "/" in update:
                seen.append((time.perf_counter(), phase, int(done)))
            elif update.strip():
                other.append(update)
    return seen, "\n".join(other + [buffer])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--reanalyze", type=int, default=200, help="links to re-analyse (0 skips)")
    parser.add_argument("--reanalyze-tags", type=int, default=100,
                        help="tags of the person, 1-2 on every link (0: none, nothing to score against)")
    parser.add_argument("--reanalyze-batch", type=int, default=128, help="reanalyze --batch (links per model batch)")
    parser.add_argument("--screenshot-format", choices=("png", "jpeg"), default="png",
                        help="the stored viewport screenshots: png as the capture keeps them, or jpeg")
    parser.add_argument("--reanalyze-jobs", type=int, nargs="+", default=[1],
                        help="reanalyze --jobs (processes); one run for each")
    parser.add_argument("--model-views", choices=("on", "off"), nargs="+", default=["on"],
                        help="on: the snapshots keep model views as the capture makes them; off: as "
                             "snapshots kept before it (the screenshot is decoded); one run for each")
    parser.add_argument("--variables", nargs="+", default=[""],
                        help="variables set for a run, as NAME=VALUE[,NAME=VALUE...] (\"\": the command's own "
                             "choices, e.g. LINKSHOT_CUDNN_BENCHMARK); one run for each, in the order given")
    parser.add_argument("--baseline", type=Path, help="a folder of other code: each run is also made by it")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    scoring = bench_scoring(args.links, np.random.default_rng(5)) if args.links else None
    print(scoring, flush=True)
    for spec in args.variables:
        _variables(spec)  # a bad one refused before the set-up
    runs = [(views == "on", jobs, variables) for views in args.model_views for jobs in args.reanalyze_jobs
            for variables in args.variables]
    reanalysis = bench_reanalyze(args.reanalyze, args.reanalyze_batch, args.screenshot_format, runs,
                                 args.reanalyze_tags, args.baseline) \
        if args.reanalyze else []
    if args.write:
        write(scoring, reanalysis)


def write(scoring: dict | None, reanalysis: list[dict]) -> None:
    lines = [f"`bench/suggest_speed.py`, {datetime.now(timezone.utc):%Y-%m-%d}, {platform.machine()}, "
             f"{os.cpu_count()} cores.", ""]
    if scoring:
        lines += [f"Scoring one link against {scoring['links']:,} analysed links of one person (300 tags), model "
                  f"inference excluded: p50 {scoring['score_p50_ms']} ms, p95 {scoring['score_p95_ms']} ms "
                  f"(target <= 50 ms). Baseline in the same run, the same neighbour search as a Python loop over "
                  f"rows: {scoring['python_loop_ms']} ms. The index (384-d text + 256-d projected screenshot, "
                  f"float32, and the word index of 100 terms a link) takes {scoring['index_mb']} MB for these links "
                  f"and {scoring['library_build_s']} s to build again after a tag change; it grows linearly, so one "
                  "machine holds a few people of a million links; past that the index is sharded "
                  "by person (each person's links are scored only against their own), or moved to an ANN "
                  "library (faiss IVF-PQ, usearch) on the same stored vectors.", ""]
        mine, plain = scoring["handover"]["product"], scoring["handover"]["plain"]
        lines += [f"Handed to `reanalyze --jobs N`'s processes between the phases, the same index pickles to "
                  f"{mine['mb']} MB, written in {mine['write_s']} s and read in {mine['read_s']} s; a plain "
                  f"pickle of every attribute, derived arrays included (the baseline, the same run): "
                  f"{plain['mb']} MB, {plain['write_s']} s and {plain['read_s']} s.", ""]
    if reanalysis:
        first = reanalysis[0]
        lines += [f"`manage.py reanalyze --all` over {first['links']} links with 1-2 of {first['tags']} tags each, "
                  f"at batch {first['batch']} (1280x800 "
                  f"{first['screenshots'].upper()} screenshot of a real docs page and about 2,000 characters of "
                  "text each), the configured backend (target >= 3 links/s on the CPU):", "",
                  "| model views | processes | variables | links/s | after each process's first batch | command s |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {'kept' if r['model_views'] else 'none'} | {r['jobs']} | {r['variables']} | "
                  f"{r['links_per_s']} | {r.get('links_per_s_after_first_batch', '')} | {r['command_s']} |"
                  for r in reanalysis]
        lines += ["", f"It said, last: {reanalysis[-1]['report']}", ""]
    replace_section("Suggestions: speed", lines)


if __name__ == "__main__":
    main()
