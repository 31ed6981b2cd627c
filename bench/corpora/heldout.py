#!/usr/bin/env python3
"""A second labelled corpus, held out from tuning: other Debian documentation, other sections.

The same format as ../shared/corpus/build_dev_corpus.py (OUT/site/ of symlinks, OUT/labels.json with
"pages" and "tags"), plus "technology": the tags that name a product, which bench/suggest_eval.py
scores apart from the topic tags. Labels come from each package's own structure:
  python      python3.11-doc's library chapters (library/index.html -> chapter page -> module pages)
  postgresql  postgresql-doc-15's page families (sql-*.html are SQL commands, catalog-*.html system
              catalogs, view-*.html system views, app-*.html client and server applications, ...)
  sqlalchemy  python-sqlalchemy-doc's orm/, core/ and dialects/ trees
  apache      apache2-doc's English manual: mod/ (modules), programs/, howto/
Several of these differ by a page's role, not its subject (a catalog vs a view of the same data, a
SQL command vs the function it calls), like git's command categories in the dev corpus. Each label
keeps at most PER_LABEL pages, picked by a hash of the path (not by name order), so the corpus stays
a few hundred pages.

Usage: heldout.py OUT [--install]
"""
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

PACKAGES = {
    "python": ("python3.11-doc", "/usr/share/doc/python3.11-doc/html"),
    "postgresql": ("postgresql-doc-15", "/usr/share/doc/postgresql-doc-15/html"),
    "sqlalchemy": ("python-sqlalchemy-doc", "/usr/share/doc/python-sqlalchemy-doc/html"),
    "apache": ("apache2-doc", "/usr/share/doc/apache2-doc/manual/en"),
}
PER_LABEL = 30
# library/<chapter>.html -> topic tag; chapters with at least 9 module pages.
PYTHON_CHAPTERS = {
    "datatypes": "data-types", "internet": "internet-protocols", "netdata": "internet-data",
    "python": "runtime-services", "markup": "markup", "allos": "os-services", "concurrency": "concurrency",
    "filesys": "file-access",
}
# File-name pattern -> topic tag.
POSTGRES_FAMILIES = [
    (r"sql-(?!syntax|expressions|keywords|commands\.html)[a-z]+(-[a-z]+)*\.html$", "sql-commands"),
    (r"functions-[a-z-]+\.html$", "functions"),
    (r"catalog-pg-[a-z-]+\.html$", "system-catalogs"),
    (r"view-pg-[a-z-]+\.html$", "system-views"),
    (r"app-[a-z-]+\.html$", "applications"),
    (r"runtime-config-[a-z-]+\.html$", "server-configuration"),
    (r"datatype-[a-z-]+\.html$", "data-types"),
    (r"libpq-[a-z-]+\.html$", "libpq"),
]
SQLALCHEMY_TREES = {"orm/": "orm", "core/": "core", "dialects/": "dialects"}
APACHE_TREES = {"mod/mod_": "modules", "programs/": "programs", "howto/": "howto"}
SKIP = re.compile(r"(genindex|search|modindex|changelog|_modules/|_sources/|(^|/)index\.html$)")


def ensure_packages(install: bool) -> None:
    missing = [pkg for pkg, root in PACKAGES.values() if not Path(root).is_dir()]
    if missing and install:
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing], check=True)
    elif missing:
        sys.exit(f"missing Debian packages: {' '.join(missing)} (rerun with --install)")


def python_labels(root: Path) -> dict[str, str]:
    """library/<module>.html -> its chapter's tag, from each chapter page's table of contents."""
    labels = {}
    for chapter, tag in PYTHON_CHAPTERS.items():
        html = (root / "library" / f"{chapter}.html").read_text()
        start = html.find("toctree-wrapper")
        toc = html[start:html.find("</div>", start)] if start >= 0 else ""
        for module in re.findall(r'href="([A-Za-z0-9_.]+)\.html"', toc):
            labels.setdefault(f"library/{module}.html", tag)
    return labels


def topic_of(tech: str, rel: str, python: dict[str, str]) -> str | None:
    if tech == "python":
        return python.get(rel)
    if tech == "postgresql":
        return next((tag for pattern, tag in POSTGRES_FAMILIES if re.match(pattern, rel)), None)
    trees = SQLALCHEMY_TREES if tech == "sqlalchemy" else APACHE_TREES
    return next((tag for prefix, tag in trees.items() if rel.startswith(prefix)), None)


def _order(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    ensure_packages("--install" in sys.argv)
    site = out / "site"
    site.mkdir(parents=True, exist_ok=True)
    by_label: dict[tuple[str, str], list[str]] = {}
    for tech, (_pkg, root) in PACKAGES.items():
        link = site / tech
        if not link.exists():
            link.symlink_to(root)
        python = python_labels(Path(root)) if tech == "python" else {}
        for f in sorted(Path(root).rglob("*.html")):
            rel = f.relative_to(root).as_posix()
            topic = None if SKIP.search(rel) else topic_of(tech, rel, python)
            if topic:
                by_label.setdefault((tech, topic), []).append(f"/{tech}/{rel}")
    pages = []
    for (tech, topic), paths in sorted(by_label.items()):
        for path in sorted(paths, key=_order)[:PER_LABEL]:
            pages.append({"path": path, "tags": [tech, topic]})
    pages.sort(key=lambda p: p["path"])
    all_tags = sorted({t for p in pages for t in p["tags"]})
    (out / "labels.json").write_text(json.dumps({"pages": pages, "tags": all_tags, "technology": sorted(PACKAGES)},
                                                indent=1))
    print(f"{len(pages)} pages, {len(all_tags)} tags -> {out}/labels.json; serve {site}")


if __name__ == "__main__":
    main()
