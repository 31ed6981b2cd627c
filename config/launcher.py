"""Process launcher behind ./linkshot: picks the broker, prepares the data dir, runs everything.

`up` starts gunicorn (web), a Celery worker for all queues and Celery beat in the foreground and
stops all of them on Ctrl-C or when any one exits. `test` runs pytest on SQLite and then on
Postgres when one answers.
"""
from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from config.env import env_int, env_path

log = logging.getLogger("linkshot")
ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DEFAULT_TEST_POSTGRES = "postgres://postgres@127.0.0.1:5432/linkshot"


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout):
            return True
    except OSError:
        return False


def start_private_redis(data_dir: Path) -> tuple[subprocess.Popen, str]:
    sock = data_dir / "redis.sock"
    sock.unlink(missing_ok=True)
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--dir", str(data_dir), "--save", "", "--appendonly", "yes", "--appendfilename", "broker.aof"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        if sock.exists():
            return proc, f"redis+socket://{sock}"
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("the private redis-server did not start")


def choose_broker(data_dir: Path) -> tuple[str, subprocess.Popen | None]:
    """REDIS_URL if given, else a private redis-server, else Celery's filesystem transport."""
    if os.environ.get("REDIS_URL"):
        log.info("broker: Redis at REDIS_URL")
        return os.environ["REDIS_URL"], None
    if shutil.which("redis-server"):
        proc, url = start_private_redis(data_dir)
        log.info("broker: private redis-server on %s", url)
        return url, proc
    log.info("broker: filesystem transport under %s (no redis-server found)", data_dir / "broker")
    return "filesystem://", None


def manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True)


def ensure_admin() -> None:
    """On first start with no users, create the admin account and print its password once."""
    password = os.environ.get("LINKSHOT_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    code = (
        "from django.contrib.auth import get_user_model as g; U=g(); import os,sys\n"
        "if U.objects.exists(): sys.exit(3)\n"
        "U.objects.create_superuser(os.environ['LS_USER'], '', os.environ['LS_PASS'])\n"
    )
    user = os.environ.get("LINKSHOT_ADMIN_USER", "admin")
    env = {**os.environ, "LS_USER": user, "LS_PASS": password}
    result = subprocess.run([PY, "manage.py", "shell", "-c", code], cwd=ROOT, env=env)
    if result.returncode == 0:
        shown = "(from LINKSHOT_ADMIN_PASSWORD)" if os.environ.get("LINKSHOT_ADMIN_PASSWORD") else password
        print(f"\n  Created admin account: user {user!r}, password {shown}\n", flush=True)


# One worker process per core, two threads each: on two cores more threads only add GIL contention
# (bench/RESULTS.md, ## Web), while a second thread keeps a worker answering during a download.
WEB_WORKERS = 2
WEB_THREADS = 2


def services(port: int, data_dir: Path) -> dict[str, list[str]]:
    bind = os.environ.get("LINKSHOT_BIND", "127.0.0.1")
    return {
        "web": [PY, "-m", "gunicorn", "config.wsgi", "--bind", f"{bind}:{port}",
                "--workers", str(env_int("LINKSHOT_WEB_WORKERS", WEB_WORKERS)),
                "--threads", str(env_int("LINKSHOT_WEB_THREADS", WEB_THREADS)),
                "--access-logfile", "-"],
        "worker": [PY, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
                   "-Q", "capture,default,inference,capture_bulk", "--hostname", "linkshot@%h",
                   "--concurrency", str(env_int("LINKSHOT_WORKER_CONCURRENCY", 2)),
                   "--max-tasks-per-child", "100", "--max-memory-per-child", "1500000"],
        "beat": [PY, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                 "--schedule", str(data_dir / "celerybeat-schedule")],
    }


def supervise(procs: dict[str, subprocess.Popen]) -> int:
    """Wait until Ctrl-C/SIGTERM or until one process exits, then stop the rest."""
    stop = {"flag": False}

    def handle(signum, frame):
        stop["flag"] = True

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    exited = None
    while not stop["flag"] and exited is None:
        exited = next((name for name, proc in procs.items() if proc.poll() is not None), None)
        time.sleep(0.3)
    if exited:
        log.error("%s exited with status %s; stopping the rest", exited, procs[exited].returncode)
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return 1 if exited else 0


def up() -> int:
    data_dir = env_path("LINKSHOT_DATA_DIR", str(ROOT / "data"))
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["LINKSHOT_DATA_DIR"] = str(data_dir)
    broker, redis_proc = choose_broker(data_dir)
    os.environ["CELERY_BROKER_URL"] = broker
    procs: dict[str, subprocess.Popen] = {"redis": redis_proc} if redis_proc else {}
    try:
        manage("migrate", "--noinput")
        manage("collectstatic", "--noinput", "--verbosity", "0")
        ensure_admin()
    except (subprocess.CalledProcessError, KeyboardInterrupt):
        for proc in procs.values():
            proc.terminate()
        raise
    port = env_int("LINKSHOT_PORT", 8000)
    for name, cmd in services(port, data_dir).items():
        procs[name] = subprocess.Popen(cmd, cwd=ROOT)
    print(f"  Linkshot is running on http://127.0.0.1:{port}/  (Ctrl-C stops it)", flush=True)
    return supervise(procs)


def ensure_test_redis() -> subprocess.Popen | None:
    url = os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    if answers(url) or not shutil.which("redis-server"):
        return None
    port = urlsplit(url).port or 6379
    log.info("starting redis-server on port %s for the tests", port)
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
                            stdout=subprocess.DEVNULL)
    for _ in range(100):
        if answers(url):
            break
        time.sleep(0.05)
    return proc


def run_pytest(label: str, extra_env: dict[str, str], args: list[str]) -> int:
    print(f"\n===== tests on {label} =====", flush=True)
    # Importing config (for this launcher) set DJANGO_SETTINGS_MODULE to the run-time settings, and
    # pytest-django prefers the environment over pytest.ini: name the test settings explicitly.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **extra_env}
    return subprocess.run([PY, "-m", "pytest", *args], cwd=ROOT, env=env).returncode


def test(args: list[str]) -> int:
    redis_proc = ensure_test_redis()
    try:
        sqlite_env = {"DATABASE_URL": "sqlite:///" + str(ROOT / "data" / "test.sqlite3")}
        if os.environ.get("DATABASE_URL", "").startswith("sqlite"):
            sqlite_env = {}
        status = run_pytest("SQLite", sqlite_env, args)
        pg_url = os.environ.get("DATABASE_URL", "")
        if not pg_url.startswith("postgres"):
            pg_url = DEFAULT_TEST_POSTGRES
        if answers(pg_url):
            status = run_pytest("Postgres", {"DATABASE_URL": pg_url}, ["-m", "not no_postgres", *args]) or status
        else:
            print(f"\nPostgres at {pg_url} does not answer: Postgres run skipped", flush=True)
            if os.environ.get("CI"):
                status = status or 1
        return status
    finally:
        if redis_proc:
            redis_proc.terminate()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="linkshot: %(message)s")
    command, rest = (argv[0] if argv else ""), argv[1:]
    if command == "up":
        return up()
    if command == "test":
        return test(rest)
    print("usage: python -m config.launcher up|test", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
