"""Process launcher behind ./linkshot: picks the broker, prepares the data dir, runs everything.

`up` locks the data dir, starts gunicorn (web), a Celery worker for the capture and default
queues, a Celery worker with one child for the inference queue and Celery beat in the foreground,
restarts any that dies, and stops all of them on Ctrl-C. `password` sets a new password for an
account. `test` runs pytest on SQLite and then on
Postgres when one answers.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from config.admin_account import banner, change_password, ensure_admin
from config.datadir_lock import DataDirBusy, DataDirLock
from config.env import env_int, env_path, tests_redis_url
from config.supervisor import Supervisor

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
    """Run a manage.py command quietly; its output is shown only when it fails."""
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise subprocess.CalledProcessError(result.returncode, ["manage.py", *args])


# One worker process per core, two threads each: on two cores more threads only add GIL contention
# (bench/RESULTS.md, ## Web), while a second thread keeps a worker answering during a download.
WEB_WORKERS = 2
WEB_THREADS = 2
# Queues of the capture worker; "inference" has a worker of its own (see services()).
CAPTURE_QUEUES = ("capture", "default", "capture_bulk")
# The capture worker and its browsers run at a lower CPU priority than the web and the inference
# worker: on a small machine a burst of captures otherwise holds back the suggestions of the pages
# already captured (what the person is waiting for) and the pages of the web UI. Captures spend
# most of their time waiting on the network, so they lose little when the others go first.
CAPTURE_NICE = 10


def services(port: int, data_dir: Path) -> dict[str, list[str]]:
    bind = os.environ.get("LINKSHOT_BIND", "127.0.0.1")
    return {
        "web": [PY, "-m", "gunicorn", "config.wsgi", "--bind", f"{bind}:{port}",
                "--workers", str(env_int("LINKSHOT_WEB_WORKERS", WEB_WORKERS)),
                "--threads", str(env_int("LINKSHOT_WEB_THREADS", WEB_THREADS)),
                "--access-logfile", "-",
                # gunicorn's sendfile path logs every file it sends as 0 bytes; assets are small.
                "--no-sendfile",
                # gunicorn's default control socket lives in $HOME: one per data dir instead.
                "--control-socket", str(data_dir / "gunicorn.ctl")],
        "worker": ["nice", "-n", str(env_int("LINKSHOT_CAPTURE_NICE", CAPTURE_NICE)),
                   PY, "-m", "celery", "-A", "config", "--quiet", "worker", "--loglevel", "INFO",
                   "-Q", ",".join(CAPTURE_QUEUES), "--hostname", "linkshot@%h",
                   "--concurrency", str(env_int("LINKSHOT_WORKER_CONCURRENCY", 2)),
                   "--max-tasks-per-child", "100", "--max-memory-per-child", "1500000"],
        # The models load in this worker's one child only: in a pool that also captures, every
        # child ends up holding both models and its own peak of model memory.
        "inference": [PY, "-m", "celery", "-A", "config", "--quiet", "worker", "--loglevel", "INFO",
                      "-Q", "inference", "--hostname", "linkshot-inference@%h", "--concurrency", "1",
                      "--max-tasks-per-child", "100", "--max-memory-per-child", "1500000"],
        "beat": [PY, "-m", "celery", "-A", "config", "--quiet", "beat", "--loglevel", "INFO",
                 "--schedule", str(data_dir / "celerybeat-schedule")],
    }


def up() -> int:
    data_dir = env_path("LINKSHOT_DATA_DIR", str(ROOT / "data"))
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        lock = DataDirLock(data_dir).acquire()
    except DataDirBusy as exc:
        log.error("%s", exc)
        return 1
    try:
        return _run(data_dir)
    finally:
        lock.release()


def _run(data_dir: Path) -> int:
    os.environ["LINKSHOT_DATA_DIR"] = str(data_dir)
    broker, redis_proc = choose_broker(data_dir)
    os.environ["CELERY_BROKER_URL"] = broker
    supervisor = Supervisor({})
    if redis_proc:
        supervisor.adopt("redis", redis_proc, lambda: start_private_redis(data_dir)[0])
    try:
        manage("migrate", "--noinput")
        manage("collectstatic", "--noinput", "--verbosity", "0")
        created = ensure_admin(ROOT, PY)
    except (subprocess.CalledProcessError, RuntimeError, KeyboardInterrupt) as exc:
        if redis_proc:
            redis_proc.terminate()
        if isinstance(exc, KeyboardInterrupt):
            raise
        log.error("%s", exc)
        return 1
    port = env_int("LINKSHOT_PORT", 8000)
    supervisor.spawns = {name: _spawner(cmd) for name, cmd in services(port, data_dir).items()}
    supervisor.start_all()
    wait_for_web(port)
    print(banner(f"http://127.0.0.1:{port}/", created), flush=True)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: supervisor.stop())
    return supervisor.run()


def _spawner(cmd: list[str]):
    return lambda: subprocess.Popen(cmd, cwd=ROOT)


def wait_for_web(port: int, seconds: float = 20.0) -> None:
    """Let the web server bind first, so the banner comes after its start-up lines."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not answers(f"http://127.0.0.1:{port}", timeout=0.2):
        time.sleep(0.2)


def ensure_test_redis() -> subprocess.Popen | None:
    url = os.environ["REDIS_URL"] = tests_redis_url()
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
    if command == "password":
        return change_password(ROOT, rest[0] if rest else None, PY)
    print("usage: python -m config.launcher up|test|password [USER]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
