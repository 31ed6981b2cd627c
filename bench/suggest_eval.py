"""Tag-suggestion quality, end to end: a labelled corpus through a running Linkshot, REST only.

    .venv/bin/python bench/suggest_eval.py CORPUS_DIR [--test-pages 150] [--write]

CORPUS_DIR holds site/ (served over HTTP on loopback) and labels.json
({"pages": [{"path": ..., "tags": [...]}], "tags": [...]}); ../shared/corpus/build_dev_corpus.py
builds one from documentation pages. For each regime a fresh person gets every corpus tag, then
k tagged example links per tag (k = 0, 3, 10), then the same untagged test links; the harness
waits for their analyses and scores the suggestions against the labels:
  hit@1, hit@3    the page's label among the first 1 / 3 suggestions (technology and topic tags apart)
  precision@3     labels among the first 3 suggestions / 3
  new tags/link   suggestions of names that are not among the person's tags
  latency         snapshot finished -> analysis finished, and link created -> suggestions
An ablation repeats the 3-example regime with text evidence only and image evidence only (a
platform restarted with LINKSHOT_SUGGESTION_EVIDENCE). Nothing here is tuned to one corpus: the
same code runs on pages it has never seen.
"""
from __future__ import annotations

import argparse
import json
import os
import platform as host
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results_file import replace_section  # noqa: E402
from bench.suggest_platform import Platform  # noqa: E402

TECHNOLOGY = {"django", "git", "flask", "requests", "sphinx"}
PASSWORD = "bench-person-password"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(site: Path) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def split(pages: list[dict], tags: list[str], test_pages: int, seed: int = 1) -> tuple[dict, list[dict]]:
    """Examples per tag for each k (nested: the 3 are among the 10) and one shared test set."""
    rng = random.Random(seed)
    shuffled = pages[:]
    rng.shuffle(shuffled)
    examples: dict[str, list[dict]] = {t: [p for p in shuffled if t in p["tags"]][:10] for t in tags}
    used = {p["path"] for chosen in examples.values() for p in chosen}
    rest = [p for p in shuffled if p["path"] not in used]
    return examples, rest[:test_pages]


def wait_analysed(lab: Platform, token: str, count: int, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        links = lab.all_links(token)
        settled = [link for link in links if (link.get("analysis") or {}).get("status") in ("done", "failed")]
        if len(settled) >= count or time.monotonic() > deadline:
            return links
        time.sleep(3)


def add_links(lab: Platform, token: str, base: str, pages: list[dict], with_tags: bool) -> None:
    for page in pages:
        lab.call("POST", "/api/links/", {"url": base + page["path"], "tags": page["tags"] if with_tags else []},
                 token=token)


def run_regime(lab: Platform, name: str, k: int, base: str, tags: list[str], examples: dict, tests: list[dict],
               timeout: float, technology: set[str] = TECHNOLOGY) -> dict:
    token = lab.create_user(f"eval-{name}", PASSWORD)
    for tag in tags:
        lab.call("POST", "/api/tags/", {"name": tag}, token=token)
    chosen = {p["path"]: p for t in tags for p in examples[t][:k]}
    add_links(lab, token, base, list(chosen.values()), with_tags=True)
    wait_analysed(lab, token, len(chosen), timeout)
    add_links(lab, token, base, tests, with_tags=False)
    links = wait_analysed(lab, token, len(chosen) + len(tests), timeout)
    labels = {base + p["path"]: set(p["tags"]) for p in tests}
    return score([link for link in links if link["url"] in labels], labels, name, k, technology)


def _seconds(later: str | None, earlier: str | None) -> float | None:
    if not later or not earlier:
        return None
    parse = datetime.fromisoformat
    return (parse(later.replace("Z", "+00:00")) - parse(earlier.replace("Z", "+00:00"))).total_seconds()


def score(links: list[dict], labels: dict[str, set[str]], name: str, k: int, technology: set[str] = TECHNOLOGY) -> dict:
    hit1, hit3, precision, new = [], [], [], 0
    tech_hit3, topic_hit3, after_capture, after_create = [], [], [], []
    for link in links:
        truth = labels[link["url"]]
        names = [s["tag"] for s in link["suggestions"]]
        top3 = set(names[:3])
        hit1.append(bool(names[:1]) and names[0] in truth)
        hit3.append(bool(top3 & truth))
        precision.append(len(top3 & truth) / 3)
        new += sum(1 for s in link["suggestions"] if not s["existing"])
        if truth & technology:
            tech_hit3.append(bool(top3 & truth & technology))
        if truth - technology:
            topic_hit3.append(bool(top3 & (truth - technology)))
        analysis, snapshot = link.get("analysis") or {}, link.get("snapshot") or {}
        after_capture.append(_seconds(analysis.get("finished_at"), snapshot.get("finished_at")))
        after_create.append(_seconds(analysis.get("finished_at"), link["created_at"]))
    mean = lambda xs: round(sum(xs) / len(xs), 3) if xs else float("nan")  # noqa: E731
    median = lambda xs: round(statistics.median([x for x in xs if x is not None]), 2) if any(  # noqa: E731
        x is not None for x in xs) else float("nan")
    return {"regime": name, "examples_per_tag": k, "links": len(links), "hit@1": mean(hit1), "hit@3": mean(hit3),
            "precision@3": mean(precision), "tech_hit@3": mean(tech_hit3), "topic_hit@3": mean(topic_hit3),
            "topic_pages": len(topic_hit3),
            "new_tags_per_link": round(new / max(len(links), 1), 3),
            "median_s_after_capture": median(after_capture), "median_s_after_create": median(after_create),
            "analysed": sum(1 for link in links if (link.get("analysis") or {}).get("status") == "done")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--test-pages", type=int, default=150)
    parser.add_argument("--regimes", default="0,3,10", help="examples per tag, comma separated")
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for one regime's analyses")
    parser.add_argument("--seed", type=int, default=1, help="which random split of examples and test pages")
    parser.add_argument("--write", action="store_true", help="write the figures into bench/RESULTS.md")
    args = parser.parse_args()
    corpus = json.loads((args.corpus / "labels.json").read_text())
    examples, tests = split(corpus["pages"], corpus["tags"], args.test_pages, args.seed)
    # A corpus names its technology tags (bench/corpora/); the dev corpus predates that and has five.
    technology = set(corpus.get("technology") or TECHNOLOGY)
    site = serve(args.corpus / "site")
    base = f"http://127.0.0.1:{site.server_address[1]}"
    rows = []
    runs = [("both", {}, [int(k) for k in args.regimes.split(",")])]
    if not args.no_ablation:
        runs += [("text", {"LINKSHOT_SUGGESTION_EVIDENCE": "text"}, [3]),
                 ("image", {"LINKSHOT_SUGGESTION_EVIDENCE": "image"}, [3])]
    with tempfile.TemporaryDirectory(prefix="linkshot-eval-") as tmp:
        for evidence, env, ks in runs:
            lab = Platform(Path(tmp) / evidence, f"127.0.0.1:{site.server_address[1]}", env)
            (Path(tmp) / evidence).mkdir()
            lab.start()
            try:
                for k in ks:
                    row = run_regime(lab, f"{evidence}-{k}", k, base, corpus["tags"], examples, tests, args.timeout,
                                     technology)
                    row["evidence"] = evidence
                    memory = lab.memory_mb()
                    row["worker_rss_mb"] = memory.get("worker", {}).get("rss_mb")
                    row["worker_pss_mb"] = memory.get("worker", {}).get("pss_mb")
                    row["chromium_pss_mb"] = memory.get("chromium", {}).get("pss_mb")
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            finally:
                lab.stop()
    if args.write:
        write_results(rows, args)


def write_results(rows: list[dict], args) -> None:
    columns = ["evidence", "examples_per_tag", "links", "hit@1", "hit@3", "precision@3", "tech_hit@3",
               "topic_hit@3", "new_tags_per_link", "median_s_after_capture", "median_s_after_create",
               "worker_rss_mb", "worker_pss_mb", "chromium_pss_mb"]
    lines = [
        f"`bench/suggest_eval.py {args.corpus.name} --test-pages {args.test_pages}`, "
        f"{datetime.now(timezone.utc):%Y-%m-%d}, {host.machine()}, {os.cpu_count()} cores, "
        "embedded default (onnxruntime on CPU; a capture worker and an inference worker with one child). Targets with 3 examples per tag: "
        "hit@3 >= 0.95 technology, >= 0.9 topic; >= 0.7 zero-shot; <= 0.3 new tags per link.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(str(row.get(c)) for c in columns) + " |" for row in rows),
        "",
    ]
    replace_section("Suggestions: quality on the dev corpus", lines)


if __name__ == "__main__":
    main()
