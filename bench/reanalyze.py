"""Reanalyze without the model call: claim, read inputs, store vectors, score, store suggestions.

    .venv/bin/python bench/reanalyze.py [--links 20000] [--tags 300] [--redo 2560] [--batch 128]
                                        [--databases sqlite postgres] [--baseline REF] [--jobs N] [--write]
                                        [--profile DIR] [--html] [--suggested]

One person with ``--links`` analysed links (1-3 of ``--tags`` tags each, a snapshot with a title
and ~1,000 characters of text; with ``--html`` the re-analysed ones also have a captured HTML
page, as real captures do, and an analysis that read it) is seeded with stored vectors; ``--redo`` of them are queued as
``reanalyze --all`` queues them, then drained batch by batch through the product's own code for
everything except the models: the claim, the inputs read from the snapshot rows, the vectors
written to the analyses (fenced by the claim), the scoring against the person's library (with
the learnt combination) and the suggestions written. The models' part is fed vectors computed
once, before any timing, by the real models (text model on distinct page texts, image model on
distinct page-like screenshots; each link gets one of them): the product's model call is not
replaced, it is left out, and its throughput is measured elsewhere (bench/inference.py).

The baseline is the same stage at ``--baseline`` (default: the commit before the bulk writes),
checked out in a temporary worktree and measured in the same run, on the same databases, with
the same vectors. It reports the seconds the drain held the database's write lock (transactions and
writes outside one: on SQLite every other writer waits through them; none on Postgres) and the seconds spent in the
garbage collector's collections while draining (``collector_s``, by generation, youngest first). With ``--suggested`` every
link already has pending suggestions, each of whose scores the re-analysis moves (a library
analysed again with other models): every suggestion is written again. SQLite is a file in a temporary directory; Postgres is $BENCH_POSTGRES_URL
(default postgres://postgres@127.0.0.1:5432/ls_reanalyze), emptied first. The list cache uses
Redis at $BENCH_REDIS_URL (default redis://127.0.0.1:6379/6), as a deployment has it. ``--jobs N``: N processes drain the queue together, as ``reanalyze --jobs`` runs them (the count
of library rebuilds shows how often a process had to read the whole library again); with code that
scores in a second phase, each scores its share of the links once all have stored their vectors. With
``--profile DIR`` each child runs its batches under cProfile and leaves DIR/<code>-<database>.prof
(the profiler slows it: the figures of a profiled run are not the benchmark's).
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
sys.path.insert(0, str(ROOT))

from bench.reanalyze_drain import (SCREENSHOTS, TEXTS, CollectorTime, Others, QueryCount,  # noqa: E402
                                   WriteLock, drain_stage, embedded, has_bulk_writes, heap_frozen,
                                   load_vectors, outputs_for, ready_to_drain, suggested)

BASELINE = "49384a4"  # the parent of the bulk writes: one UPDATE and one save() per row
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/ls_reanalyze")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")


def syllable_names(n: int) -> list[str]:
    """n distinct pronounceable tag names (``bavoke``), deterministic."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    names, i = [], 0
    while len(names) < n:
        a, b, c = i % 14, (i // 14) % 5, (i // 70) % 14
        names.append(f"{consonants[a]}{vowels[b]}{consonants[c]}{vowels[(i // 980) % 5]}ke")
        i += 1
    return names


def page_text(topic: str, other: str, n: int) -> str:
    return (f"Notes on {topic} number {n}. The {topic} approach compared with {other}; "
            f"how {topic} behaves in practice, with examples and measurements. ") * 8


# --- the parent: vectors once, then one child per (code, database) ----------------------------

def make_vectors(path: Path, tags: int) -> None:
    """Real-model vectors for TEXTS page texts and SCREENSHOTS screenshots (in this tree)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django
    django.setup()
    import io

    import numpy as np
    from PIL import Image, ImageDraw

    from tagging.analysis.predictor import predictor
    model = predictor()
    names = syllable_names(tags)
    texts = [page_text(names[i % tags], names[(i * 7 + 3) % tags], i)[:1000] for i in range(TEXTS)]
    text = model.embed_texts(texts)
    shots = []
    for i in range(SCREENSHOTS):
        image = Image.new("RGB", (1280, 800), (240 - 5 * i, 240, 235))
        ImageDraw.Draw(image).rectangle((0, 0, 1280, 90), fill=(20 + 7 * i, 60, 160 - 4 * i))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        shots.append(out.getvalue())
    features, descriptors, logits = _image_outputs(model, shots)
    concepts = model.concepts(logits, k=5)
    np.savez(path, text=text, feature=features, descriptor=descriptors,
             concepts=np.array(json.dumps([[[n, float(p)] for n, p in c] for c in concepts])))


def _image_outputs(model, shots: list[bytes]):
    from inference.bulk import embed_stored_screenshots
    result = embed_stored_screenshots(shots, predictor=model)
    assert len(result.indices) == len(shots)
    return result.features, result.descriptors, result.logits


def run_child(tree: Path, database: str, vectors: Path, args, tmp: Path) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "LINKSHOT_DATA_DIR": str(tmp),
           "DATABASE_URL": database, "REDIS_URL": REDIS, "CELERY_BROKER_URL": REDIS,
           "LINKSHOT_CACHE_PREFIX": f"bench-reanalyze-{os.getpid()}"}
    command = [sys.executable, str(tree / "bench" / "reanalyze.py"), "--child", str(vectors),
               "--links", str(args.links), "--tags", str(args.tags), "--redo", str(args.redo),
               "--batch", str(args.batch), "--jobs", str(args.jobs)] + (["--html"] if args.html else []) \
        + (["--suggested"] if args.suggested else [])
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        label = "baseline" if tree != ROOT else "tree"
        command += ["--profile", str(args.profile.resolve() / f"{label}-{database.split(':')[0]}.prof")]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{tree.name} on {database}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_tree(ref: str, tmp: Path) -> Path:
    tree = tmp / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), ref], cwd=ROOT, check=True, capture_output=True)
    for name in ("reanalyze.py", "reanalyze_drain.py"):  # this bench, driving the baseline's code
        (tree / "bench" / name).write_text((ROOT / "bench" / name).read_text())
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=20_000)
    parser.add_argument("--tags", type=int, default=300)
    parser.add_argument("--redo", type=int, default=2560, help="links re-analysed (of --links)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes draining the queue together, as reanalyze --jobs runs them")
    parser.add_argument("--suggested", action="store_true",
                        help="every link has pending suggestions before, each of whose scores the re-analysis moves")
    parser.add_argument("--html", action="store_true",
                        help="give the re-analysed links' snapshots a captured HTML file (~50 KB, 40 headings)")
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the baseline ('' skips it)")
    parser.add_argument("--vectors", type=Path, help="keep the real-model vectors in this .npz (reused when present)")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--profile", type=Path, help="leave a cProfile of each child's batches in this folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--make-vectors", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child), args)))
        return
    if args.make_vectors:
        make_vectors(args.make_vectors, args.tags)
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="linkshot-bench-reanalyze-") as tmp_name:
        tmp = Path(tmp_name)
        vectors = args.vectors or tmp / "vectors.npz"
        if not vectors.exists():  # in a child: the models' memory is not held through the timing
            started = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--make-vectors", str(vectors), "--tags", str(args.tags)],
                           cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base"},
                           check=True, capture_output=True)
            print(f"vectors from the real models in {time.perf_counter() - started:.1f} s", flush=True)
        trees = [("this tree", ROOT)]
        if args.baseline:
            trees.insert(0, (f"baseline {args.baseline}", baseline_tree(args.baseline, tmp)))
        try:
            for database in args.databases:
                for label, tree in trees:
                    url = f"sqlite:///{tmp}/{label.split()[0]}.sqlite3" if database == "sqlite" else POSTGRES
                    got = {"code": label, "database": database, **run_child(tree, url, vectors, args, tmp)}
                    print(got, flush=True)
                    results.append(got)
        finally:
            if args.baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(tmp / "baseline")], cwd=ROOT,
                               capture_output=True)
    if args.write:
        write(results, args)


# --- the child: seed, queue, drain without the models ------------------------------------------

def child(vectors_path: Path, args) -> dict:
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    vectors, concepts = load_vectors(vectors_path)
    user = seed(args.links, args.tags, vectors, concepts, html_for=args.redo if args.html else 0)
    from snapshots.models import Link
    from tagging.analysis import jobs
    from tagging.analysis.predictor import model_version

    moved = suggested(user.pk) if args.suggested else 0
    redo = Link.objects.filter(user=user).order_by("pk")[: args.redo]
    jobs.queue_reanalysis(Link.objects.filter(pk__in=list(redo.values_list("pk", flat=True))), model_version(), True)
    others = Others(args.jobs - 1, vectors_path, args.batch, user.pk)  # each ready as this one below
    rebuilds = ready_to_drain(user.pk)
    queries, lock = QueryCount(), WriteLock(connection)
    profiler = None
    if args.profile:
        import cProfile
        profiler = cProfile.Profile()
    others.wait_ready()
    with heap_frozen(), CollectorTime() as collector, connection.execute_wrapper(queries), \
            connection.execute_wrapper(lock):
        started = time.perf_counter()
        others.go()
        if profiler:
            profiler.enable()
        done, batches = drain_stage(args.batch, user.pk, vectors, concepts, (0, args.jobs),
                                    others.drained if args.jobs > 1 else None)
        if profiler:
            profiler.disable()
    theirs = others.results()
    elapsed = time.perf_counter() - started
    if profiler:
        profiler.dump_stats(str(args.profile))
    from tagging.models import Analysis, TagSuggestion
    assert Analysis.objects.filter(user=user, status="done").count() == args.links
    done += sum(n for n, *_ in theirs)
    return {"links": args.links, "jobs": args.jobs, "redone": done, "seconds": round(elapsed, 2),
            "links_per_s": round(done / elapsed, 1), "queries_per_batch": round(queries.count / max(batches, 1), 1),
            "library_rebuilds": rebuilds[0] + sum(r for _, r, _, _ in theirs),
            "write_lock_s": round(lock.seconds + sum(s for _, _, s, _ in theirs), 2) if lock.counted else None,
            "write_lock_ms_per_batch": round(1000 * lock.seconds / max(batches, 1), 1) if lock.counted else None,  # this process's
            "suggestions_moved_before": moved,
            # summed over the processes, by generation (youngest first)
            "collector_s": [round(collector.seconds[g] + sum(t[g] for *_, t in theirs), 2) for g in range(3)],
            "pending_suggestions": TagSuggestion.objects.filter(user=user, state="pending").count()}


def page_html(title: str, text: str) -> bytes:
    """A documentation-like page as the capture keeps it: about 60 KB and 1,500 elements (links,
    inline code, navigation), 40 headings."""
    words = text.split()
    nav = "".join(f"<li><a href='/{title}/{i}'>{title} {i}</a></li>" for i in range(60))
    para = " ".join(f"<a href='#{w}'>{w}</a>" if i % 6 == 0 else f"<code>{w}</code>" if i % 6 == 3 else w
                    for i, w in enumerate(words[:120]))
    body = "".join(f"<section id='s{i}'><h2>{title} section {i}</h2><div class='para'><p>{para}</p></div></section>"
                   for i in range(40))
    return (f"<!doctype html><html><head><title>{title}</title><meta name='keywords' content='{title}, notes'>"
            f"</head><body><nav><ul>{nav}</ul></nav><main><h1>{title}</h1>{body}</main></body></html>").encode()


def seed(links: int, tags: int, vectors, concepts, html_for: int = 0):
    """One person's library, written in bulk (not part of the timing); the first ``html_for``
    links' snapshots get an HTML file, and their analyses the terms read from it."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from snapshots.models import Link, Snapshot
    from tagging.analysis.inputs import inputs_of
    from tagging.analysis.predictor import model_version
    from tagging.analysis.vectors import pack
    from tagging.models import Analysis, Tag
    from tagging.scoring.lexical import pack_terms
    from tagging.names import tag_key

    user = get_user_model().objects.create_user("bench")
    names = syllable_names(tags)
    vocab = Tag.objects.bulk_create([Tag(user=user, name=n, name_key=tag_key(n)) for n in names])
    rng = np.random.default_rng(7)
    now = timezone.now()
    link_rows = []
    for n in range(links):
        topic = n % TEXTS % tags  # the text vector's topic (make_vectors), so tags and vectors agree
        link_rows.append(Link(user=user, url=f"https://example.org/{names[topic]}/{n}",
                              title=f"{names[topic].capitalize()} notes {n}",
                              page_text=page_text(names[topic], names[(topic * 7 + 3) % tags], n)[:1000]))
    created = Link.objects.bulk_create(link_rows, batch_size=2000)
    snapshots = Snapshot.objects.bulk_create(
        [Snapshot(link=link, status=Snapshot.Status.DONE, title=link.title, text=link.page_text, finished_at=now)
         for link in created], batch_size=2000)
    through = Link.tags.through
    pairs = []
    for link in created:
        # The tag of the link's text topic (from its pk, as outputs_for picks vectors), 0-2 more.
        topic = link.pk % TEXTS % tags
        extra = rng.integers(0, tags, 2)[: rng.integers(0, 3)]
        pairs += [through(link_id=link.pk, tag_id=vocab[t].pk) for t in {topic, *map(int, extra)}]
    through.objects.bulk_create(pairs, batch_size=5000, ignore_conflicts=True)
    version = model_version()
    analyses = []
    for link, snapshot in zip(created, snapshots):
        text, (feature, descriptor, found) = outputs_for(link.pk, vectors, concepts)
        got = inputs_of(link, snapshot)  # the terms, stored as an analysis stores them (run.store_vectors)
        analyses.append(Analysis(link=link, user=user, snapshot=snapshot, status="done", model_version=version,
                                 text_vector=pack(text), image_feature=pack(feature),
                                 image_descriptor=pack(descriptor), concepts=found, inputs=["url", "text", "image"],
                                 terms=got.terms, term_vector=pack_terms(*got.lexical), finished_at=now, queued_at=now))
    Analysis.objects.bulk_create(analyses, batch_size=500)
    if html_for:
        from django.core.files.base import ContentFile

        from tagging.analysis import jobs
        from tagging.analysis import run

        if not has_bulk_writes():
            raise SystemExit("--html needs code with the batched writes (run.store_vectors)")
        for snapshot in snapshots[:html_for]:
            snapshot.html.save("page.html", ContentFile(page_html(snapshot.title, snapshot.text)), save=False)
        Snapshot.objects.bulk_update(snapshots[:html_for], ["html"], batch_size=2000)
        # Their analyses as a capture leaves them: stored by the product, with the terms read from that HTML.
        jobs.queue_reanalysis(Link.objects.filter(pk__in=[s.link_id for s in snapshots[:html_for]]), version, True)
        while (claimed := run.claim(512, user.pk)) is not None:
            run.store_vectors(claimed, embedded(claimed, vectors, concepts))
    return user


def write(results: list[dict], args) -> None:
    from bench.results_file import replace_section
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [f"`bench/reanalyze.py --links {args.links} --tags {args.tags} --redo {args.redo} --batch {args.batch}`, "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, "
             f"load average {load} at the end.", "",
             f"Everything `manage.py reanalyze --all` does for {args.redo} links of one person with {args.links:,} "
             f"analysed links and {args.tags} tags, except the model call: claim, read inputs, store vectors "
             "(float16), score against the library (learnt combination on), store suggestions. The vectors "
             "fed to it were computed once by the real models before the timing (1,000 page texts, 32 "
             "screenshots, each link given one of each); the list cache on Redis. Baseline: the same stage "
             "of the code before the bulk writes, in the same run.", "",
             "| code | database | links/s | queries per batch | seconds |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['code']} | {r['database']} | {r['links_per_s']} | {r['queries_per_batch']} | {r['seconds']} |")
    replace_section("Reanalyze without the models", lines)


if __name__ == "__main__":
    main()
