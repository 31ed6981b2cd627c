"""Bookmark import benchmark: a 10,000-entry Netscape file, database part and worker memory.

    .venv/bin/python bench/imports.py                  # SQLite, then Postgres (database ls_bench_import)
    .venv/bin/python bench/imports.py --db sqlite --entries 2000

Each database runs in a child process: a fresh database, migrations, one user, then in order
1. baseline: ``save_link`` (the path of the add form and the API) for --baseline entries, one by one;
2. the import job (imports.runner.run_import, what the Celery task runs) of a --entries file with
   tags and folders, timed; RSS sampled every 20 ms in the same process;
3. the same file imported again (idempotence: nothing added, every entry reported);
4. the streaming reader alone over a ~5 MB and a ~50 MB file: peak RSS growth of each (flat memory).
The capture messages go to Celery's in-memory transport, so the figures are the database part.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_NAME = "ls_bench_import"


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRSS:
    """Samples this process's RSS in a thread; ``growth`` is the peak above the start."""

    def __init__(self) -> None:
        self.start = rss_mib()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mib())

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib())

    @property
    def growth(self) -> float:
        return self.peak - self.start


def bookmark_file(path: Path, entries: int, title_len: int = 40) -> int:
    with path.open("w") as out:
        out.write('<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<META HTTP-EQUIV="Content-Type" CONTENT="text/html; '
                  'charset=UTF-8">\n<TITLE>Bookmarks</TITLE>\n<H1>Bookmarks</H1>\n<DL><p>\n')
        for i in range(entries):
            if i % 500 == 0:
                out.write(("</DL><p>\n" if i else "") + f"<DT><H3>Folder {i // 500}</H3>\n<DL><p>\n")
            out.write(f'<DT><A HREF="https://site{i % 997}.example/articles/{i}?ref=bench" ADD_DATE="{1500000000 + i}" '
                      f'TAGS="topic{i % 150},kind{i % 9}">{"Article title " * (title_len // 14)} {i}</A>\n'
                      f"<DD>Description of entry {i}, a sentence or two long.\n")
        out.write("</DL><p>\n</DL><p>\n")
    return path.stat().st_size


def child(db: str, entries: int, baseline: int) -> dict:
    import django
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from imports import runner, services
    from imports.parsing import netscape
    from snapshots.links.services import save_link
    from snapshots.models import Link

    # The baseline's save_link checks each host; resolve offline so the benchmark sends no DNS queries.
    settings.LINKSHOT_DNS_RESOLVER = "tests.support.offline_dns.getaddrinfo"
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    work = Path(tempfile.mkdtemp(prefix="ls-import-"))
    result: dict = {"db": db, "entries": entries}

    started = time.perf_counter()
    for i in range(baseline):
        save_link(user, f"https://baseline{i % 97}.example/{i}", title=f"Baseline {i}", tag_names=[f"b{i % 20}"])
    result["baseline_ms_per_entry"] = 1000 * (time.perf_counter() - started) / baseline

    path = work / "bookmarks.html"
    result["file_mib"] = bookmark_file(path, entries) / 2**20
    upload = SimpleUploadedFile("bookmarks.html", path.read_bytes())
    job = services.start_import(user, upload, folders_as_tags=True)
    del upload
    with PeakRSS() as memory:
        started = time.perf_counter()
        runner.run_import(job.pk)
        result["import_s"] = time.perf_counter() - started
    job.refresh_from_db()
    result.update(import_rss_growth_mib=memory.growth, imported=job.imported, skipped=job.skipped,
                  links=Link.objects.filter(user=user).count())
    result["import_ms_per_entry"] = 1000 * result["import_s"] / entries

    again = services.start_import(user, SimpleUploadedFile("bookmarks.html", path.read_bytes()))
    started = time.perf_counter()
    runner.run_import(again.pk)
    result["reimport_s"] = time.perf_counter() - started
    again.refresh_from_db()
    result.update(reimport_added=again.imported, reimport_skipped=again.skipped)

    for label, count in (("parse_5mb", 9_000), ("parse_50mb", 90_000)):
        big = work / f"{label}.html"
        size = bookmark_file(big, count, title_len=400)
        with PeakRSS() as memory, big.open("rb") as stream:
            started = time.perf_counter()
            parsed = sum(1 for _ in netscape.read_entries(stream))
        result[label] = {"mib": size / 2**20, "entries": parsed, "seconds": time.perf_counter() - started,
                         "rss_growth_mib": memory.growth}
    return result


def run_child(db: str, args: argparse.Namespace) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="ls-bench-data-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "LINKSHOT_DATA_DIR": str(data_dir),
           "CELERY_BROKER_URL": "memory://", "LINKSHOT_CACHE_URL": "", "LINKSHOT_LOG_LEVEL": "WARNING"}
    if db == "postgres":
        subprocess.run([sys.executable, "-c", f"""
import psycopg
with psycopg.connect('{PG_ADMIN_URL}', autocommit=True) as c:
    c.execute('DROP DATABASE IF EXISTS {PG_NAME}'); c.execute('CREATE DATABASE {PG_NAME}')"""], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    out = subprocess.run([sys.executable, __file__, "--child", db, "--entries", str(args.entries),
                          "--baseline", str(args.baseline)], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=500)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.entries, args.baseline)))
        return
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        print(json.dumps(run_child(db, args), indent=1), flush=True)


if __name__ == "__main__":
    main()
