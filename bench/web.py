"""Web latency benchmark: list page, tag page and five searches at 100,000 links.

    .venv/bin/python bench/web.py                  # SQLite, then Postgres (database ls_bench)
    .venv/bin/python bench/web.py --db sqlite --links 20000 --requests 100
    .venv/bin/python bench/web.py --write-results  # also record the figures in bench/RESULTS.md

Each database runs in its own child process: a fresh database (a SQLite file in a temporary
data dir, or the Postgres database ``ls_bench`` dropped and created again), migrations,
bulk-loaded links (see web_data.py), then gunicorn serving ``config.wsgi`` with production-like
settings (config.settings.base, DEBUG off), a real login through the login form, and
``--clients`` concurrent keep-alive clients per scenario. The load driver shares the machine
with the server, as a browser on the same host would.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.web_client import Result, Session, drive, login  # noqa: E402
from config.launcher import WEB_THREADS, WEB_WORKERS  # noqa: E402  (what ./linkshot up runs)

log = logging.getLogger("bench.web")

PASSWORD = "bench-password-123"
HOST = "127.0.0.1"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
SEARCHES = {
    "common word": "python",
    "rare word": "kubernetes",
    "phrase": '"machine learning"',
    "url": "github.com",
    "mixed": "database -recipe #python",
}
TAG = "python"
WARMUP = 2  # requests per client before the clock starts
TARGETS_MS = {"list": 50, "search": 100}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--links", type=int, default=100_000, help="links of the measured user")
    parser.add_argument("--other-links", type=int, default=10_000, help="links of a second user")
    parser.add_argument("--tags", type=int, default=200, help="tags of each user")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--requests", type=int, default=400, help="requests per scenario")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="time cap per scenario")
    parser.add_argument("--workers", type=int, default=WEB_WORKERS, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=WEB_THREADS, help="threads per gunicorn worker")
    parser.add_argument("--list-cache-seconds", type=int, default=60,
                        help="LINKSHOT_LIST_CACHE_SECONDS of the server (0: every page rendered afresh)")
    parser.add_argument("--postgres-db", default="ls_bench")
    parser.add_argument("--machine", default="2-core x86_64, 24 GiB")
    parser.add_argument("--write-results", action="store_true", help="write bench/RESULTS.md '## Web'")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


# Parent: one child per database, then a table ---------------------------------------------------

def run_all(args: argparse.Namespace) -> None:
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows = []
    for db in databases:
        child_args = [a for a in sys.argv[1:] if a != "--write-results"]
        command = [sys.executable, str(Path(__file__).resolve()), *child_args, "--db", db, "--child"]
        completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        if completed.returncode != 0:
            log.error("The %s run failed (exit %d).", db, completed.returncode)
            continue
        rows.extend(json.loads(completed.stdout.strip().splitlines()[-1]))
    table = markdown_table(rows)
    print(table)
    if args.write_results and rows:
        write_results(args, table)


def markdown_table(rows: list[dict]) -> str:
    lines = ["| database | scenario | p50 ms | p95 ms | req/s | requests | errors | web CPU ms/req "
             "| Postgres CPU ms/req | load avg |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['db']} | {row['scenario']} | {row['p50_ms']} | {row['p95_ms']} | "
                     f"{row['rps']} | {row['requests']} | {row['errors']} | {row['cpu_ms']} | "
                     f"{row['db_cpu_ms']} | {row['load1']} |")
    return "\n".join(lines)


def write_results(args: argparse.Namespace, table: str) -> None:
    """Replace the '## Web' section of bench/RESULTS.md, leaving other sections alone."""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    section = (
        f"## Web\n\n{date.today().isoformat()}, {args.machine}. `bench/web.py`: {args.links:,} links "
        f"(+{args.other_links:,} of a second user), {args.tags} tags each, gunicorn {args.workers} workers "
        f"x {args.threads} threads, list cache {args.list_cache_seconds} s (LINKSHOT_LIST_CACHE_SECONDS), "
        f"{args.clients} concurrent clients, up to {args.requests} requests per scenario. Targets: search p95 <= {TARGETS_MS['search']} ms, list p95 <= {TARGETS_MS['list']} ms.\n"
        f"Searches: {', '.join(f'{k} `{v}`' for k, v in SEARCHES.items())}; tag page `/?tag={TAG}`.\n\n"
        f"{table}\n"
    )
    path.write_text(with_web_section(text, section))
    log.info("Wrote %s", path)


def with_web_section(text: str, section: str) -> str:
    """``text`` with its '## Web' section replaced by ``section`` (appended when missing)."""
    before, marker, after = text.partition("## Web\n")
    if not marker:
        return text.rstrip("\n") + "\n\n" + section
    rest = after.split("\n## ", 1)
    return before + section + ("\n## " + rest[1] if len(rest) > 1 else "")


# Child: one database ----------------------------------------------------------------------------

def run_one(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="linkshot-bench-"))
    try:
        env = server_env(args, data_dir)
        os.environ.update(env)
        if args.db == "postgres":
            recreate_postgres_db(args.postgres_db)
        rows = measure(args, env)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps([{"db": args.db, **row} for row in rows]))


def server_env(args: argparse.Namespace, data_dir: Path) -> dict[str, str]:
    database_url = (f"sqlite:///{data_dir / 'linkshot.sqlite3'}" if args.db == "sqlite"
                    else f"postgres://postgres@127.0.0.1:5432/{args.postgres_db}")
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "LINKSHOT_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "DJANGO_DEBUG": "0",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"),
        "LINKSHOT_LOG_LEVEL": "WARNING",
        "LINKSHOT_LIST_CACHE_SECONDS": str(args.list_cache_seconds),
    }


def recreate_postgres_db(name: str) -> None:
    import psycopg  # only the Postgres run needs it

    with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def measure(args: argparse.Namespace, env: dict[str, str]) -> list[dict]:
    import django

    django.setup()
    from django.core.management import call_command

    from bench.web_data import LinkLoader, load_users, make_user

    call_command("migrate", verbosity=0)
    alice = make_user("alice", PASSWORD)
    load_users([LinkLoader(alice, args.links, args.tags, seed=1),
                LinkLoader(make_user("bob", PASSWORD), args.other_links, args.tags, seed=2)])
    from django.db import connection, connections

    if connection.vendor == "postgresql":
        # What autovacuum does shortly after a large import: word statistics for the planner, and
        # the GIN pending list merged (until then every index search reads it through).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    explain_searches(alice)
    connections.close_all()
    port = free_port()
    with gunicorn(args, env, port) as server:
        cookies = login(HOST, port, "alice", PASSWORD)
        if cookies is None:
            raise SystemExit("Could not log in through /accounts/login/.")
        return run_scenarios(args, server, cookies)


def explain_searches(user) -> None:
    """Log each search's query plan: the full-text index must be where it starts."""
    from snapshots.links.queries import LinkQuery, query_links

    for name, text in SEARCHES.items():
        query = query_links(user, LinkQuery(text=text))[:51]
        log.warning("EXPLAIN %s %r:\n%s", name, text, query.explain())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class gunicorn:
    """The server as production runs it; stopped (and waited for) on exit."""

    def __init__(self, args: argparse.Namespace, env: dict[str, str], port: int):
        self.command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"{HOST}:{port}",
                        "--workers", str(args.workers), "--threads", str(args.threads),
                        "--worker-class", "gthread", "--log-level", "warning"]
        self.env = {**os.environ, **env}
        self.port = port

    def __enter__(self) -> "gunicorn":
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env)
        wait_until_serving(self.port, self.process)
        return self

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master and its workers (from /proc; Linux only)."""
        pids = [self.process.pid] + [pid for pid, ppid in _processes() if ppid == self.process.pid]
        return sum(_cpu_seconds(pid) for pid in pids)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def database_cpu_seconds() -> dict[int, float]:
    """CPU time of each Postgres backend serving this database (none on SQLite: it runs in the web)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        # Client backends only: autovacuum workers come and go on their own schedule.
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
        return {pid: _cpu_seconds(pid) for (pid,) in cursor.fetchall()}


def cpu_used_since(before: dict[int, float], after: dict[int, float]) -> float:
    # Backends come and go with connections; count what each one still present used meanwhile.
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _processes() -> list[tuple[int, int]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found.append((int(entry.name), int(fields[1])))
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def wait_until_serving(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            session = Session(HOST, port)
            session.request("GET", "/accounts/login/")
            session.close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


def run_scenarios(args: argparse.Namespace, server: gunicorn, cookies: dict[str, str]) -> list[dict]:
    def run(name: str, paths: list[str]) -> Result:
        cpu_before, db_before = server.cpu_seconds(), database_cpu_seconds()
        result = drive(name, HOST, server.port, cookies, paths, args.clients, args.requests, args.max_seconds,
                       warmup=WARMUP)
        served = len(result.latencies) + sum(result.errors.values()) + WARMUP * args.clients
        # Latency on a shared machine depends on what else runs; the server's CPU time per request
        # and the load average say how much of it was ours.
        extra[name] = {"load1": round(os.getloadavg()[0], 1),
                       "cpu_ms": round((server.cpu_seconds() - cpu_before) * 1000 / served, 1),
                       "db_cpu_ms": (round(cpu_used_since(db_before, database_cpu_seconds()) * 1000 / served, 1)
                                     if args.db == "postgres" else "in web")}
        log.warning("%s: %s %s", args.db, result.row(), extra[name])
        return result

    def row(result: Result) -> dict:
        return {**result.row(), **extra.get(result.name, {"load1": "", "cpu_ms": "", "db_cpu_ms": ""})}

    extra: dict[str, dict] = {}
    rows = [row(run("list /", ["/"])), row(run(f"tag /?tag={TAG}", [f"/?{urlencode({'tag': TAG})}"]))]
    merged = Result("search (all five)")
    for name, text in SEARCHES.items():
        result = run(f"search {name}: {text}", [f"/?q={quote(text)}"])
        rows.append(row(result))
        merged.latencies += result.latencies
        merged.wall += result.wall
        for kind, count in result.errors.items():
            merged.errors[kind] = merged.errors.get(kind, 0) + count
    rows.append(row(merged))
    return rows


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args()
    if args.child:
        run_one(args)
    else:
        run_all(args)


if __name__ == "__main__":
    main()
