"""Capture and analyse a whole labelled corpus once, and keep what the scorer reads, for offline runs.

    .venv/bin/python bench/suggest_capture.py CORPUS_DIR OUT.npz

A fresh platform (bench/suggest_platform.py) captures every page of CORPUS_DIR as one person's
untagged link and analyses it; then the stored rows are read back: per page its labels, title,
description, final URL, readable text, headings/keywords, ImageNet concepts and the stored text and
image vectors. bench/suggest_offline.py scores tag suggestions from that file under many splits, so
a change to scoring (or to how the stored text is embedded) is measured without capturing again.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.suggest_eval import PASSWORD, add_links, serve, wait_analysed  # noqa: E402
from bench.suggest_platform import ROOT, Platform  # noqa: E402

DUMP = """
import json, sys
import numpy as np
from inference.config import FEATURE_DIM, TEXT_DIM
from tagging.analysis.vectors import unpack
from tagging.models import Analysis
base, out = sys.argv[-2], sys.argv[-1]
rows = Analysis.objects.filter(link__user__username="capture").select_related("link", "snapshot")
meta, text, image = [], [], []
for a in rows:
    s, link = a.snapshot, a.link
    done = s is not None and s.status == "done"
    meta.append({"path": link.url[len(base):], "status": a.status, "title": link.title or (s.title if done else ""),
                 "description": link.description or (s.description if done else ""),
                 "url": (s.final_url if done and s.final_url else "") or link.url,
                 "body": (s.text if done else "") or link.page_text, "terms": a.terms, "concepts": a.concepts})
    t, v = unpack(a.text_vector, TEXT_DIM), unpack(a.image_feature, FEATURE_DIM)
    text.append(t if t is not None else np.zeros(TEXT_DIM, np.float32))
    image.append(v if v is not None else np.zeros(FEATURE_DIM, np.float32))
np.savez_compressed(out, meta=np.array(json.dumps(meta)), text=np.array(text, np.float16),
                    image=np.array(image, np.float16))
print(len(meta), "analyses ->", out)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    corpus = json.loads((args.corpus / "labels.json").read_text())
    site = serve(args.corpus / "site")
    base = f"http://127.0.0.1:{site.server_address[1]}"
    with tempfile.TemporaryDirectory(prefix="linkshot-capture-") as tmp:
        lab = Platform(Path(tmp), f"127.0.0.1:{site.server_address[1]}")
        lab.start()
        try:
            started = time.monotonic()
            token = lab.create_user("capture", PASSWORD)
            add_links(lab, token, base, corpus["pages"], with_tags=False)
            links = wait_analysed(lab, token, len(corpus["pages"]), args.timeout)
            print(f"{len(links)} links analysed in {time.monotonic() - started:.0f} s", flush=True)
        finally:
            lab.stop()
        # The tables as the current code reads them (the code may have moved on while pages were captured).
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=lab.env, check=True,
                       stdout=subprocess.DEVNULL)
        script = Path(tmp) / "dump.py"
        script.write_text(DUMP)
        code = f"import sys; sys.argv += [{base + ''!r}, {str(args.out.resolve())!r}]; exec(open({str(script)!r}).read())"
        subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=lab.env, check=True)
    labels = {p["path"]: p["tags"] for p in corpus["pages"]}
    import numpy as np  # noqa: PLC0415 (the platform's start does not need it)

    data = dict(np.load(args.out))
    meta = json.loads(str(data["meta"]))
    for row in meta:
        row["tags"] = labels.get(row["path"], [])
    data["meta"] = np.array(json.dumps({"pages": meta, "tags": corpus["tags"],
                                        "technology": corpus.get("technology")}))
    np.savez_compressed(args.out, **data)


if __name__ == "__main__":
    main()
