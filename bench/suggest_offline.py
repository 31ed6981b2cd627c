"""Tag-suggestion quality from captured corpora, offline: many splits, no capture, the product's scorer.

    .venv/bin/python bench/suggest_offline.py DUMP.npz [DUMP.npz ...] [--k 3] [--seeds 5] [--reembed]

DUMP.npz comes from bench/suggest_capture.py (every page of a labelled corpus captured and analysed
once by a real platform). For each seed, pages are split as bench/suggest_eval.py splits them (k
tagged examples per tag), every other analysed page is a test page, and each is scored by
tagging.suggestions.service.pick over a library of the stored vectors: the same code the worker runs
after an analysis, minus the database. --reembed embeds the stored page text again with the current
tagging/analysis/inputs.py (for changes to what is embedded); the vectors are cached beside the dump.
Figures are means over seeds; hit@k and the rest as in bench/suggest_eval.py.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from tagging.analysis import inputs as page_inputs  # noqa: E402
from tagging.analysis.library import project_image  # noqa: E402
from tagging.analysis.predictor import predictor  # noqa: E402
from tagging.analysis.vectors import unit  # noqa: E402
from tagging.scoring.index import Library  # noqa: E402
from tagging.scoring.score import Query, VocabTag  # noqa: E402
from tagging.suggestions import service  # noqa: E402

DEV_TECHNOLOGY = ["django", "git", "flask", "requests", "sphinx"]


def load(path: Path, reembed: bool) -> tuple[list[dict], list[str], set[str], np.ndarray, np.ndarray]:
    data = np.load(path)
    meta = json.loads(str(data["meta"]))
    keep = [i for i, p in enumerate(meta["pages"]) if p["status"] == "done" and p["tags"]]
    pages = [meta["pages"][i] for i in keep]
    text, image = data["text"][keep].astype(np.float32), data["image"][keep].astype(np.float32)
    if reembed:
        text = _reembedded(path, pages)
    return pages, meta["tags"], set(meta.get("technology") or DEV_TECHNOLOGY), text, image


def _reembedded(path: Path, pages: list[dict]) -> np.ndarray:
    texts = [page_inputs.model_text(p["title"], p["description"], p["url"], p["body"]) for p in pages]
    key = hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16]
    cache = path.with_suffix(f".text-{key}.npy")
    if cache.exists():
        return np.load(cache)
    started = time.monotonic()
    vectors = np.concatenate([predictor().embed_texts(texts[i:i + 32]) for i in range(0, len(texts), 32)])
    print(f"# re-embedded {len(texts)} texts in {time.monotonic() - started:.1f} s", file=sys.stderr)
    np.save(cache, vectors)
    return vectors


def split(pages: list[dict], tags: list[str], k: int, seed: int) -> tuple[set[int], list[int]]:
    """k examples per tag (as bench/suggest_eval.py picks them), the rest test pages."""
    order = list(range(len(pages)))
    random.Random(seed).shuffle(order)
    examples = set()
    for tag in tags:
        examples.update([i for i in order if tag in pages[i]["tags"]][:k])
    return examples, [i for i in order if i not in examples]


def run(path: Path, k: int, seeds: int, reembed: bool, lexical: bool = True) -> dict:
    pages, tags, technology, text, image = load(path, reembed)
    names = service.embed_names(tags)
    vocab = [VocabTag(n, tag, names[n]) for n, tag in enumerate(tags)]
    text16, image16 = unit(text).astype(np.float16), project_image(image).astype(np.float16)
    projected = project_image(image)
    words = [page_inputs.page_words(p["title"], p["description"], p["url"], p["body"], p["terms"]) for p in pages]
    terms = [page_inputs.page_terms(p["title"], p["description"], p["url"], p["body"], p["terms"]) for p in pages]
    totals: dict[str, list[float]] = defaultdict(list)
    per_tag: dict[str, list[bool]] = defaultdict(list)
    seconds = []
    for seed in range(1, seeds + 1):
        examples, tests = split(pages, tags, k, seed)
        row_tags = [tuple(n for n, t in enumerate(tags) if t in pages[i]["tags"]) if i in examples else ()
                    for i in range(len(pages))]
        library = Library(np.arange(len(pages)), text16, image16, row_tags, terms if lexical else None)
        got = defaultdict(list)
        for i in tests:
            started = time.perf_counter()
            query = Query(link_id=i, text=text[i] if text[i].any() else None,
                          image=projected[i] if image[i].any() else None, page=words[i],
                          concepts=[(c, p) for c, p in pages[i]["concepts"]], terms=terms[i] if lexical else None)
            chosen = service.pick(query, pages[i]["title"], library, vocab, set())
            seconds.append(time.perf_counter() - started)
            truth, ranked = set(pages[i]["tags"]), [c.name for c in chosen]
            top3 = set(ranked[:3])
            got["hit@1"].append(bool(ranked) and ranked[0] in truth)
            got["hit@3"].append(bool(top3 & truth))
            got["precision@3"].append(len(top3 & truth) / 3)
            got["new_tags_per_link"].append(sum(1 for c in chosen if c.tag_id is None))
            if truth & technology:
                got["tech_hit@3"].append(bool(top3 & truth & technology))
            for topic in truth - technology:
                per_tag[topic].append(topic in top3)
            if truth - technology:
                got["topic_hit@3"].append(bool(top3 & (truth - technology)))
        for name, values in got.items():
            totals[name].append(float(np.mean(values)))
        totals["topic_pages"].append(len(got["topic_hit@3"]))
    result = {"corpus": path.stem, "k": k, "seeds": seeds, "test_pages": len(tests),
              **{name: round(float(np.mean(v)), 3) for name, v in totals.items()},
              "topic_hit@3_range": [round(min(totals["topic_hit@3"]), 3), round(max(totals["topic_hit@3"]), 3)],
              "topic_hit@3_by_seed": [round(v, 3) for v in totals["topic_hit@3"]],
              "ms_per_link": round(1000 * float(np.median(seconds)), 1),
              "per_topic": {t: round(float(np.mean(v)), 2) for t, v in sorted(per_tag.items())}}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dumps", type=Path, nargs="+")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--reembed", action="store_true")
    parser.add_argument("--no-lexical", action="store_true", help="leave out the word-similarity evidence")
    parser.add_argument("--text-chars", type=int, help="embed this much of the readable text (with --reembed)")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    if args.text_chars:
        page_inputs.TEXT_CHARS = args.text_chars
    for dump in args.dumps:
        row = run(dump, args.k, args.seeds, args.reembed, lexical=not args.no_lexical)
        print(json.dumps({"label": args.label, **row}), flush=True)


if __name__ == "__main__":
    main()
