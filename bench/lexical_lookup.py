"""Word-index lookups: one query's TF-IDF similarities to a person's 16,384 tagged links.

    .venv/bin/python bench/lexical_lookup.py [--links 16384] [--queries 512] [--baseline REF]

Two libraries: pages of one template (every page the same text, as the re-analysis benchmark's
pages are) and distinct pages sharing a footer. ``tagging/scoring/lexical.py`` of ``--baseline``
(default: the commit before terms on every page were skipped) is timed in the same run on the same
data, loaded beside this tree's (the rest of the code is this tree's).
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tagging.scoring import lexical  # noqa: E402

BASELINE = "6088e41"
TEXT = ("Linkshot keeps a snapshot of every page it saves: a screenshot, the rendered HTML and the readable "
        "text. The tag models read the screenshot and the text and suggest tags from the person's vocabulary. ") * 10


def module_at(ref: str, tmp: Path):
    source = subprocess.run(["git", "show", f"{ref}:tagging/scoring/lexical.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = tmp / "lexical_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("lexical_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_query_ms(module, terms: list, queries: int) -> float:
    index = module.LexicalIndex(terms, np.arange(len(terms)))
    start = time.perf_counter()
    for query in terms[:queries]:
        index.similarities(*query)
    return (time.perf_counter() - start) / queries * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=16_384)
    parser.add_argument("--queries", type=int, default=512)
    parser.add_argument("--baseline", default=BASELINE)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    libraries = {
        "one template": [TEXT] * args.links,
        "distinct pages, shared footer": [" ".join(f"w{rng.integers(0, 20_000)}" for _ in range(150)) + TEXT[:200]
                                          for _ in range(args.links)],
    }
    with tempfile.TemporaryDirectory() as tmp:
        baseline = module_at(args.baseline, Path(tmp))
        print(f"| library | {args.baseline} ms/query | this tree ms/query |\n|---|---|---|")
        for name, texts in libraries.items():
            terms = [lexical.term_counts(text) for text in texts]
            before, now = per_query_ms(baseline, terms, args.queries), per_query_ms(lexical, terms, args.queries)
            print(f"| {name} | {before:.2f} | {now:.2f} |")


if __name__ == "__main__":
    main()
